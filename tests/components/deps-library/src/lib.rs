//! A component dependency for the host's dependency tests: a library with
//! no HTTP handler, exporting two interfaces of the same shape so that a
//! test can tell which one a dependency's `export` plugged in, and a
//! plain-named one (`helper`).

wit_bindgen::generate!({ world: "library", path: "wit" });

use exports::helper;
use exports::test::deps::{greeter, loud_greeter};

struct Library;

impl greeter::Guest for Library {
    fn greet(name: String) -> String {
        format!("hello, {name}")
    }
}

impl loud_greeter::Guest for Library {
    fn greet(name: String) -> String {
        format!("HELLO, {}!", name.to_uppercase())
    }
}

impl helper::Guest for Library {
    fn shout(text: String) -> String {
        format!("{}!", text.to_uppercase())
    }
}

export!(Library);
