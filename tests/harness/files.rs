//! The repository root and small file helpers.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The repository root (the workspace holding `spin.toml`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub(crate) fn require_file(path: &Path, hint: &str) {
    assert!(path.exists(), "{} is missing: {hint}", path.display());
}

pub(crate) fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// Reads a file that may not exist yet as text.
pub fn read_to_string_lossy(path: &Path) -> String {
    read_lossy(path)
}

/// Creates `path`'s parent dirs and writes `contents`.
pub fn write_file(path: &Path, contents: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create parent dirs");
    }
    let mut file = File::create(path).expect("create file");
    file.write_all(contents.as_bytes()).expect("write file");
}
