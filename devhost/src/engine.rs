//! The wasmtime engine (pooling allocator with explicit limits) and the
//! on-disk cache of compiled components that makes restarts fast.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Concurrent component instances (requests being served) across the app.
pub const MAX_INSTANCES: u32 = 256;
/// Per-instance linear memory cap: the app hashes passwords with Argon2
/// (19 MiB) and needs headroom for its own heap and buffers.
pub const MAX_MEMORY_BYTES: usize = 128 << 20;
/// Linear memory a freed instance slot keeps mapped and resets with `memset` rather
/// than `madvise`: a request of this app touches about a megabyte (its stack, heap and
/// data), and pages kept resident spare the next request one page fault each. Larger
/// memories (Argon2's 19 MiB) are reset by the kernel beyond this size as before.
const KEEP_RESIDENT_BYTES: usize = 2 << 20;

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    // Spin components use WASI 0.2 (no component-model async): without the runtime
    // state for concurrent guests, every guest→host call skips the host-task
    // bookkeeping wasmtime otherwise does.
    config.concurrency_support(false);
    // `DEVHOST_PERFMAP=1` writes /tmp/perf-<pid>.map, so `perf report` names the
    // guests' functions (see docs/performance.md, "Profiling").
    if std::env::var_os("DEVHOST_PERFMAP").is_some_and(|v| v == "1") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

/// Builds the engine with a pooling allocator; falls back to on-demand
/// allocation (slower instantiation) if the machine refuses the reservation.
pub fn build_engine() -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(MAX_INSTANCES)
        // A spin-sdk component has a handful of core instances (the program
        // plus canonical-ABI shims) and usually one memory and a few tables.
        .max_core_instances_per_component(32)
        .total_core_instances(MAX_INSTANCES * 8)
        .max_memories_per_component(4)
        .total_memories(MAX_INSTANCES * 2)
        .max_tables_per_component(16)
        .total_tables(MAX_INSTANCES * 8)
        .total_stacks(MAX_INSTANCES)
        .max_memory_size(MAX_MEMORY_BYTES)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(64 << 10)
        // Where the kernel has PAGEMAP_SCAN (Linux 6.7+), only the pages a request
        // dirtied are reset.
        .pagemap_scan(Enabled::Auto);
    let mut config = base_config();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&config) {
        Ok(e) => Ok(e),
        Err(err) => {
            eprintln!(
                "devhost: warning: pooling allocator unavailable ({err}); using on-demand allocation"
            );
            let mut config = base_config();
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
            Engine::new(&config)
                .map_err(anyhow::Error::from)
                .context("cannot create wasmtime engine")
        }
    }
}

/// Feeds a `Hash` value into SHA-256 so the engine's compatibility hash can be
/// part of the cache key.
struct ShaHasher<'a>(&'a mut Sha256);

impl Hasher for ShaHasher<'_> {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("devhost"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("devhost"))
}

/// Compiles `wasm`, or loads the result of an earlier compilation of the same
/// bytes by the same engine configuration from `cache_dir`.
pub fn load_component(engine: &Engine, wasm: &[u8], cache_dir: Option<&Path>) -> Result<Component> {
    let Some(cache_dir) = cache_dir else {
        return Ok(Component::new(engine, wasm)?);
    };
    let mut sha = Sha256::new();
    sha.update(b"devhost-");
    sha.update(env!("CARGO_PKG_VERSION").as_bytes());
    engine
        .precompile_compatibility_hash()
        .hash(&mut ShaHasher(&mut sha));
    sha.update(wasm);
    let key: String = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let path = cache_dir.join(format!("{key}.cwasm"));
    if path.is_file() {
        // SAFETY: the file was written by `Component::serialize` of this same
        // devhost build (its version and the engine settings are in the key)
        // into the user's own cache directory, which is as trusted as the
        // devhost binary itself.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => return Ok(c),
            Err(e) => eprintln!(
                "devhost: warning: ignoring unusable cache entry {}: {e}",
                path.display()
            ),
        }
    }
    let component = Component::new(engine, wasm)?;
    if let Err(e) = store_in_cache(&component, cache_dir, &path) {
        eprintln!("devhost: warning: cannot write compile cache: {e:#}");
    }
    Ok(component)
}

fn store_in_cache(component: &Component, dir: &Path, path: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let bytes = component.serialize().map_err(anyhow::Error::from)?;
    // Write then rename so a concurrent devhost never reads a partial file.
    let tmp = dir.join(format!(".tmp-{}-{}", std::process::id(), rand_suffix()));
    std::fs::write(&tmp, bytes).with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))?;
    Ok(())
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
