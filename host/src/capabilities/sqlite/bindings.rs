//! Host-side bindings of `fermyon:spin/sqlite@2.0.0` (see `wit/spin.wit`).

wasmtime::component::bindgen!({
    path: "wit",
    world: "sqlite-capability",
    imports: { default: async | trappable },
    with: {
        "fermyon:spin/sqlite.connection": super::connection::SqliteHandle,
    },
});
