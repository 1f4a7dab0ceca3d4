//! Host-side bindings of `fermyon:spin/key-value@2.0.0` (see `wit/spin.wit`).

wasmtime::component::bindgen!({
    path: "wit",
    world: "key-value-capability",
    imports: { default: async | trappable },
    with: {
        "fermyon:spin/key-value.store": super::store::KeyValueHandle,
    },
});
