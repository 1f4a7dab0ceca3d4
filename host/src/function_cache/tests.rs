use std::sync::Arc;

use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, Function, FunctionSection, Instruction, Module,
    TypeSection, ValType,
};
use wasmtime::{Config, Engine, Instance, Store};

use super::*;

/// A module of `padding` small functions followed by `workers` functions
/// `f<k>(x) = x * (k + 2) + f<k-1>(x)`, exported by name. More padding moves every worker to
/// another index, and changes the index each one calls.
fn module(padding: u32, workers: u32) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]);
    let (mut functions, mut code, mut exports) = (
        FunctionSection::new(),
        CodeSection::new(),
        ExportSection::new(),
    );
    for p in 0..padding {
        functions.function(0);
        let mut body = Function::new([]);
        body.instruction(&Instruction::LocalGet(0))
            .instruction(&Instruction::I32Const(1000 + p as i32))
            .instruction(&Instruction::I32Sub)
            .instruction(&Instruction::End);
        code.function(&body);
    }
    for k in 0..workers {
        let index = padding + k;
        functions.function(0);
        let mut body = Function::new([]);
        body.instruction(&Instruction::LocalGet(0))
            .instruction(&Instruction::I32Const(k as i32 + 2))
            .instruction(&Instruction::I32Mul);
        if k > 0 {
            body.instruction(&Instruction::LocalGet(0))
                .instruction(&Instruction::Call(index - 1))
                .instruction(&Instruction::I32Add);
        }
        body.instruction(&Instruction::End);
        code.function(&body);
        exports.export(&format!("f{k}"), ExportKind::Func, index);
    }
    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&exports)
        .section(&code);
    module.finish()
}

fn engine_with(functions: &Arc<FunctionCache>) -> Engine {
    let mut config = Config::new();
    // One function at a time, so that two identical ones (trampolines) cannot both miss
    // before either is stored: the counts below are then exact.
    config.parallel_compilation(false);
    config
        .enable_incremental_compilation(functions.clone())
        .unwrap();
    Engine::new(&config).unwrap()
}

fn call(engine: &Engine, wasm: &[u8], name: &str, x: i32) -> i32 {
    let module = wasmtime::Module::new(engine, wasm).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance
        .get_typed_func::<i32, i32>(&mut store, name)
        .unwrap();
    f.call(&mut store, x).unwrap()
}

#[test]
fn a_later_compile_in_another_process_reuses_functions_even_where_they_moved() {
    let dir = tempfile::tempdir().unwrap();
    let first = Arc::new(FunctionCache::open(dir.path()).unwrap());
    // f3(1) = 5 + 4 + 3 + 2
    assert_eq!(call(&engine_with(&first), &module(0, 12), "f3", 1), 14);
    let (_, first_misses) = first.hits_and_misses();
    // (Some hits already: functions with the same code, like the entry trampolines.)
    assert!(
        first_misses >= 12,
        "each worker is compiled: {first_misses} misses"
    );
    drop(first);

    // As a new host process would: the store opened again from its file.
    let second = Arc::new(FunctionCache::open(dir.path()).unwrap());
    assert_eq!(call(&engine_with(&second), &module(3, 12), "f3", 1), 14);
    let (hits, misses) = second.hits_and_misses();
    assert!(hits >= 12, "every worker is reused: {hits} hits");
    assert_eq!(misses, 3, "only the 3 new functions are compiled");
}

/// A new store (in a directory removed when the first value is dropped) holding ten entries of
/// 1,000 bytes, keys 0 to 9.
fn store_of_ten_entries() -> (tempfile::TempDir, FunctionCache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = FunctionCache::open(dir.path()).unwrap();
    for key in 0..10u8 {
        assert!(cache.insert(&[key], vec![key; 1000]));
    }
    (dir, cache)
}

#[test]
fn a_store_over_its_size_drops_half_its_entries() {
    let (_dir, cache) = store_of_ten_entries();
    let connection = cache.connection.lock().unwrap();
    let count = |connection: &Connection| -> i64 {
        connection
            .query_row("SELECT COUNT(*) FROM functions", [], |row| row.get(0))
            .unwrap()
    };
    trim_to_size(&connection, 20_000).unwrap();
    assert_eq!(count(&connection), 10, "under the limit nothing is dropped");
    trim_to_size(&connection, 5_000).unwrap();
    assert_eq!(count(&connection), 5);
}

#[test]
fn a_running_store_is_trimmed_on_request_and_stays_usable() {
    let (_dir, cache) = store_of_ten_entries();
    // Entries 0..5 were last used long ago.
    cache
        .connection
        .lock()
        .unwrap()
        .execute("UPDATE functions SET used = 0 WHERE key < x'05'", [])
        .unwrap();
    cache.trim_to(5_000);
    assert!(
        cache.get(&[0]).is_none(),
        "the least recently used half is gone"
    );
    assert!(cache.get(&[9]).is_some(), "the recently used half is kept");
    assert!(
        cache.insert(&[42], vec![1; 10]),
        "the store takes new entries after a trim"
    );
}

#[test]
fn an_unusable_file_means_compiling_without_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(FILE_NAME), b"not a database, not at all").unwrap();
    assert!(FunctionCache::open_or_warn(dir.path()).is_none());
}

#[test]
fn a_store_locked_by_another_process_costs_one_wait_not_one_per_function() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FunctionCache::open(dir.path()).unwrap();
    assert!(cache.insert(b"before", vec![1; 10]));
    // Another host holding the write lock for long, as while it vacuums the file.
    let other = Connection::open(dir.path().join(FILE_NAME)).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let started = std::time::Instant::now();
    let stored = (0..20u8)
        .filter(|key| cache.insert(&[*key], vec![*key; 10]))
        .count();
    let waited = started.elapsed();
    assert_eq!(stored, 0, "nothing can be written while the lock is held");
    // One busy timeout (500 ms), not twenty (10 s).
    assert!(waited < BUSY_TIMEOUT * 4, "waited {waited:?}");
    assert!(cache.get(b"before").is_none(), "backing off: a miss");

    other.execute_batch("COMMIT").unwrap();
    std::thread::sleep(BACK_OFF);
    assert_eq!(cache.get(b"before").as_deref(), Some(&[1u8; 10][..]));
    assert!(cache.insert(b"after", vec![2; 10]));
}
