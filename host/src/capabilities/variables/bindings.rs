//! Host-side bindings of `fermyon:spin/variables@2.0.0` (see `wit/spin.wit`).

wasmtime::component::bindgen!({
    path: "wit",
    world: "variables-capability",
    imports: { default: async | trappable },
});
