//! Where the programs under test come from: the runner (Spin or `devhost`), the workspace
//! and target directories, and the built `devhost`, `migrator` and `.wasm` files.

use std::path::{Path, PathBuf};

/// What runs the app: the real Spin, or `devhost` (the workspace's own stand-in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runner {
    Spin,
    Devhost,
}

/// `APP_RUNNER=spin|devhost` forces a runner; otherwise Spin when `spin` is on `PATH`.
pub fn runner() -> Runner {
    match std::env::var("APP_RUNNER").ok().as_deref() {
        Some("spin") => Runner::Spin,
        Some("devhost") => Runner::Devhost,
        Some(other) if !other.is_empty() => {
            panic!("APP_RUNNER must be `spin` or `devhost`, not {other:?}")
        }
        _ => {
            if find_on_path("spin").is_some() {
                Runner::Spin
            } else {
                Runner::Devhost
            }
        }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The workspace root (where `spin.toml` is).
pub fn workspace_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    p.canonicalize().unwrap_or(p)
}

/// Where `devhost`, `migrator` and the `.wasm` files are built.
pub fn target_dir() -> PathBuf {
    for var in ["DEVHOST_TARGET_DIR", "CARGO_TARGET_DIR"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            let p = PathBuf::from(v);
            return if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            };
        }
    }
    workspace_root().join("target")
}

/// The panic message for a missing build output: how to build it and where it was looked for.
fn build_hint(what: &Path) -> String {
    format!(
        "{} is missing: run `make build` first (it builds the .wasm components, devhost and \
         migrator). Binaries are looked up in $DEVHOST_TARGET_DIR, else $CARGO_TARGET_DIR, else \
         <workspace>/target (now: {}); $DEVHOST_BIN and $MIGRATOR_BIN override the binaries.",
        what.display(),
        target_dir().display()
    )
}

/// The `devhost` binary: `$DEVHOST_BIN`, else `release/devhost` in the target dir.
pub(crate) fn devhost_bin() -> PathBuf {
    std::env::var_os("DEVHOST_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release/devhost"))
}

/// Where the `migrator` binary should be: `$MIGRATOR_BIN`, else `release/migrator` in the
/// target dir (not checked).
pub(crate) fn migrator_path() -> PathBuf {
    std::env::var_os("MIGRATOR_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release/migrator"))
}

/// The `migrator` binary; panics with the build hint when it is not built.
pub(crate) fn migrator_bin() -> PathBuf {
    let p = migrator_path();
    assert!(p.is_file(), "{}", build_hint(&p));
    p
}

/// Fails at once, with the build hint, when something this runner needs is not built.
pub(crate) fn check_built(runner: Runner) {
    check_wasm_built();
    if runner == Runner::Devhost {
        let bin = devhost_bin();
        assert!(bin.is_file(), "{}", build_hint(&bin));
    }
}

fn check_wasm_built() {
    for c in ["health", "auth", "cars"] {
        let p = target_dir().join(format!("wasm32-wasip2/wasm/{c}.wasm"));
        assert!(p.is_file(), "{}", build_hint(&p));
    }
}
