//! Host-side bindings of the Spin interfaces declared in `wit/spin.wit`.

wasmtime::component::bindgen!({
    path: "wit",
    world: "host",
    imports: { default: async | trappable },
    with: {
        "fermyon:spin/key-value.store": crate::key_value::KeyValueHandle,
        "fermyon:spin/sqlite.connection": crate::sqlite::SqliteHandle,
    },
});
