//! Generates the wasmtime bindings for the Spin interfaces devhost provides.
//!
//! The WIT is not copied into this repository: it is read from the `wit/` folder
//! of the exact `spin-sdk` crate the workspace's components are built with, so
//! host and guests can never disagree about an interface. `bindgen!` needs a
//! string literal path, so the whole macro call is written to `OUT_DIR` and
//! `include!`d by `src/bindings.rs`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../Cargo.lock");

    let wit = spin_sdk_wit_dir();
    println!("cargo:rerun-if-changed={}", wit.display());

    let wit_str = wit.to_str().expect("spin-sdk path is not UTF-8");
    let code = format!(
        r#"wasmtime::component::bindgen!({{
    path: {wit_str:?},
    inline: "
        package devhost:host;
        world host {{
            import fermyon:spin/variables@2.0.0;
            import fermyon:spin/key-value@2.0.0;
            import spin:postgres/postgres@4.0.0;
            import spin:sqlite/sqlite@3.0.0;
            import wasi:keyvalue/store@0.2.0-draft2;
            import wasi:keyvalue/atomics@0.2.0-draft2;
            import wasi:keyvalue/batch@0.2.0-draft2;
        }}
    ",
    world: "devhost:host/host",
    imports: {{ default: async | trappable }},
    with: {{
        "spin:postgres/postgres@4.0.0.connection": crate::pg::PgConnection,
        "spin:sqlite/sqlite@3.0.0.connection": crate::sqlite::SqliteConnection,
        "wasi:keyvalue/store@0.2.0-draft2.bucket": crate::kv::Bucket,
        "wasi:keyvalue/atomics@0.2.0-draft2.cas": crate::kv::Cas,
        "fermyon:spin/key-value@2.0.0.store": crate::kv::Bucket,
    }},
    require_store_data_send: true,
}});
"#
    );
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    std::fs::write(out.join("spin_bindings.rs"), code).expect("write bindings");
}

/// Finds `<spin-sdk crate>/wit` through `cargo metadata` (the crate is a
/// dependency of the workspace's components, so it is in the lock file).
fn spin_sdk_wit_dir() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let run = |offline: bool| {
        let mut cmd = Command::new(&cargo);
        cmd.args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(PathBuf::from(&manifest_dir).join("Cargo.toml"));
        if offline {
            cmd.arg("--offline");
        }
        cmd.output()
    };
    // Offline first: the build already has every crate, so this never touches
    // the network; fall back to a normal run if the offline index is stale.
    let output = match run(true) {
        Ok(o) if o.status.success() => o,
        _ => run(false).expect("failed to run cargo metadata"),
    };
    if !output.status.success() {
        panic!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8(output.stdout).expect("cargo metadata output is UTF-8");
    let meta: serde_json::Value = serde_json::from_str(&text).expect("cargo metadata JSON");
    let packages = meta["packages"].as_array().expect("packages array");
    let sdk = packages
        .iter()
        .find(|p| p["name"] == "spin-sdk" && p["version"] == "5.2.0")
        .expect("spin-sdk 5.2.0 is not in the workspace's dependency graph");
    let manifest = PathBuf::from(sdk["manifest_path"].as_str().expect("manifest_path"));
    let wit = manifest.parent().expect("crate dir").join("wit");
    assert!(wit.is_dir(), "{} is not a directory", wit.display());
    wit
}
