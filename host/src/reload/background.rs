//! Where a reload compiles: threads that yield the CPU to serving.
//!
//! wasmtime compiles a component's functions in parallel on rayon's pool, which by default has
//! a thread per core, so a reload that compiles took every core from the requests being served
//! (feed p99 1.4-1.65x its usual value during chat upgrades on the 2-core bench machine). The
//! reload runs instead inside a pool of its own whose threads run at a lower priority (`nice`
//! [`NICENESS`]): idle cores still compile at full speed, busy ones serve first.

use std::sync::OnceLock;

/// The scheduler priority of compiling threads: below the serving threads' 0.
const NICENESS: libc::c_int = 10;

/// Runs `work` (a reload: parsing, compiling, pre-instantiating) on the low-priority pool, so
/// that wasmtime's parallel compilation inside it uses that pool's threads.
pub fn run<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    match pool() {
        Some(pool) => pool.install(work),
        None => work(),
    }
}

/// The pool, made on first use; `None` if it cannot be made (the reload then runs as before).
fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("reload-compile-{i}"))
            .start_handler(|_| lower_this_threads_priority())
            .build()
            .map_err(|err| {
                eprintln!(
                    "reload: no low-priority compile pool ({err}); compiling at normal priority"
                )
            })
            .ok()
    })
    .as_ref()
}

/// Lowers the calling thread's priority (on Linux, `setpriority` with a thread id applies to
/// that thread alone).
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, NICENESS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_work_runs_on_low_priority_threads() {
        let (name, niceness) = run(|| {
            // SAFETY: reads the calling thread's own priority.
            let niceness = unsafe {
                let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                libc::getpriority(libc::PRIO_PROCESS, tid)
            };
            (std::thread::current().name().map(str::to_owned), niceness)
        });
        assert!(name.is_some_and(|n| n.starts_with("reload-compile-")));
        assert!(niceness >= NICENESS, "niceness {niceness}");
    }
}
