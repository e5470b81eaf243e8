//! `devhost up`: serves a Spin application manifest on wasmtime the way
//! `spin up` does, for machines where Spin itself cannot be installed.

mod allowed_hosts;
mod bindings;
mod compat;
mod engine;
mod kv;
mod manifest;
mod outbound_http;
mod pg;
mod routing;
mod runtime_config;
mod server;
mod sqlite;
mod state;
mod variables;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};

use crate::manifest::Manifest;
use crate::server::{App, LoadedComponent};
use crate::state::{ComponentCtx, Services};

const USAGE: &str = "\
devhost: serve a Spin application (spin.toml) on wasmtime, like `spin up`

USAGE:
    devhost up [OPTIONS]

OPTIONS:
    -f, --from <PATH>                  manifest to serve [default: ./spin.toml]
        --listen <ADDR>                address to listen on [env: SPIN_HTTP_LISTEN_ADDR]
                                       [default: 127.0.0.1:3000]
        --runtime-config-file <PATH>   Spin runtime config (sqlite_database, key_value_store)
        --state-dir <DIR>              state directory [default: .spin next to the manifest]
        --cache-dir <DIR>              compiled-component cache
                                       [default: $XDG_CACHE_HOME/devhost or ~/.cache/devhost]
        --access-log                   print a line per request on stderr (method, path,
                                       status, time); off by default, like Spin
        --spin-compat <strict|off>     strict: fail where any supported Spin release fails
                                       (see devhost/README.md) [env: DEVHOST_SPIN_COMPAT]
                                       [default: strict]
    -h, --help                         print this help
";

#[derive(Debug, Default)]
struct UpArgs {
    from: Option<PathBuf>,
    listen: Option<String>,
    runtime_config: Option<PathBuf>,
    state_dir: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    access_log: bool,
    spin_compat: Option<compat::SpinCompat>,
}

enum Command {
    Up(UpArgs),
    Help,
    Version,
}

fn parse_args(args: &[String]) -> Result<Command> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some("-V" | "--version") => return Ok(Command::Version),
        Some("up") => {}
        Some(other) => bail!("unknown command {other:?} (try `devhost up`)"),
    }
    let mut up = UpArgs::default();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        if matches!(flag, "-h" | "--help") {
            return Ok(Command::Help);
        }
        if flag == "--access-log" && inline.is_none() {
            up.access_log = true;
            continue;
        }
        let mut value = || -> Result<String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| anyhow!("{flag} needs a value"))
        };
        match flag {
            "-f" | "--from" | "--file" => up.from = Some(value()?.into()),
            "--listen" => up.listen = Some(value()?),
            "--runtime-config-file" => up.runtime_config = Some(value()?.into()),
            "--state-dir" => up.state_dir = Some(value()?.into()),
            "--cache-dir" => up.cache_dir = Some(value()?.into()),
            "--spin-compat" => up.spin_compat = Some(compat::SpinCompat::parse(&value()?)?),
            other => bail!("unknown option {other:?} (see `devhost up --help`)"),
        }
    }
    Ok(Command::Up(up))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match parse_args(&args) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            0
        }
        Ok(Command::Version) => {
            println!("devhost {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Ok(Command::Up(up)) => match run(up) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("Error: {e:#}");
                1
            }
        },
        Err(e) => {
            eprintln!("Error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}

fn listen_addr(flag: Option<String>) -> Result<SocketAddr> {
    let (text, origin) = match flag {
        Some(f) => (f, "--listen"),
        None => match std::env::var("SPIN_HTTP_LISTEN_ADDR") {
            Ok(v) if !v.is_empty() => (v, "SPIN_HTTP_LISTEN_ADDR"),
            _ => ("127.0.0.1:3000".to_string(), "default"),
        },
    };
    use std::net::ToSocketAddrs;
    text.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            anyhow!("invalid listen address {text:?} (from {origin}); expected host:port")
        })
}

fn run(up: UpArgs) -> Result<()> {
    let started = Instant::now();
    let manifest_path = up
        .from
        .clone()
        .unwrap_or_else(|| PathBuf::from("spin.toml"));
    let manifest_path = if manifest_path.is_dir() {
        manifest_path.join("spin.toml")
    } else {
        manifest_path
    };
    let manifest = Manifest::load(&manifest_path)?;
    let addr = listen_addr(up.listen.clone())?;
    let state_dir = up
        .state_dir
        .clone()
        .unwrap_or_else(|| manifest.dir.join(".spin"));
    let runtime_config =
        runtime_config::RuntimeConfig::load(up.runtime_config.as_deref(), &state_dir)?;
    let variables = variables::resolve(&manifest, |k| std::env::var(k).ok())?;
    let sources = read_sources(&manifest)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        // Bind before compiling so a busy port fails fast, like Spin.
        let listener = server::bind(addr).await?;
        let local = listener.local_addr()?;
        let engine = engine::build_engine()?;
        let linker = state::linker(&engine)?;
        let cache_dir = up.cache_dir.clone().or_else(engine::default_cache_dir);
        let mut components = HashMap::new();
        for (component, bytes) in sources {
            let loaded = load_component(
                &engine,
                &linker,
                cache_dir.as_deref(),
                component,
                &bytes,
                &runtime_config,
                &variables,
            )?;
            components.insert(component.id.clone(), loaded);
        }
        let triggers: Vec<(String, String)> = manifest
            .triggers
            .iter()
            .map(|t| (t.route.clone(), t.component.clone()))
            .collect();
        let app = Arc::new(App {
            router: routing::Router::new(&triggers),
            components,
            services: Arc::new(services(&runtime_config, up.spin_compat)?),
            access_log: up.access_log,
        });
        server::print_routes(&app, local);
        eprintln!(
            "devhost: {} ready in {:.0}ms",
            manifest.name,
            started.elapsed().as_secs_f64() * 1000.0
        );
        server::serve(app, listener).await
    })
}

/// Every used component's wasm bytes, read before the (slow) compilation so that a
/// missing build is reported at once, with the command that makes it.
fn read_sources(manifest: &Manifest) -> Result<Vec<(&manifest::Component, Vec<u8>)>> {
    let mut sources = Vec::new();
    for c in manifest.used_components() {
        let bytes = std::fs::read(&c.source).map_err(|e| {
            let hint = match &c.build_command {
                Some(cmd) => format!(" (build it with: {cmd})"),
                None => String::new(),
            };
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow!(
                    "component {:?}: wasm file {} not found{hint}",
                    c.id,
                    c.source.display()
                )
            } else {
                anyhow!(
                    "component {:?}: cannot read {}: {e}",
                    c.id,
                    c.source.display()
                )
            }
        })?;
        sources.push((c, bytes));
    }
    Ok(sources)
}

/// Compiles one component and checks it against the host the way Spin does at start:
/// every import provided, an HTTP export, only key-value stores the runtime config
/// defines; then attaches what the manifest grants it.
fn load_component(
    engine: &wasmtime::Engine,
    linker: &wasmtime::component::Linker<state::HostState>,
    cache_dir: Option<&std::path::Path>,
    c: &manifest::Component,
    bytes: &[u8],
    runtime_config: &runtime_config::RuntimeConfig,
    variables: &std::collections::BTreeMap<String, HashMap<String, String>>,
) -> Result<LoadedComponent> {
    let compiled = tokio::task::block_in_place(|| engine::load_component(engine, bytes, cache_dir))
        .with_context(|| {
            format!(
                "component {:?}: cannot compile {}",
                c.id,
                c.source.display()
            )
        })?;
    // A component importing an interface devhost does not provide (e.g. Spin's LLM or
    // MQTT) is refused here with the interface named.
    let pre = linker
        .instantiate_pre(&compiled)
        .map_err(anyhow::Error::from)
        .with_context(|| {
            format!(
                "component {:?} needs a host interface devhost does not provide",
                c.id
            )
        })?;
    let pre = wasmtime_wasi_http::p2::bindings::ProxyPre::new(pre)
        .map_err(anyhow::Error::from)
        .with_context(|| {
            format!(
                "component {:?} is not an HTTP component (it must export wasi:http/incoming-handler)",
                c.id
            )
        })?;
    // Like Spin: a component may only name stores the runtime config defines
    // (`default` always is), or the app does not start.
    if let Some(label) = c
        .key_value_stores
        .iter()
        .find(|label| !runtime_config.kv_stores.contains_key(*label))
    {
        anyhow::bail!(
            "unknown key_value_stores label {label:?} for component {:?}",
            c.id
        );
    }
    let ctx = ComponentCtx {
        id: c.id.clone(),
        variables: variables.get(&c.id).cloned().unwrap_or_default(),
        allowed_hosts: allowed_hosts::AllowedHosts::parse(&c.allowed_outbound_hosts)
            .with_context(|| format!("component {:?}", c.id))?,
        sqlite_databases: c.sqlite_databases.clone(),
        key_value_stores: c.key_value_stores.clone(),
        environment: c.environment.clone().into_iter().collect(),
    };
    Ok(LoadedComponent {
        pre,
        ctx: Arc::new(ctx),
    })
}

/// The databases and stores the runtime config names, shared by every component, and
/// which of Spin's known defects to reproduce (`--spin-compat`, else
/// `DEVHOST_SPIN_COMPAT`).
fn services(
    runtime_config: &runtime_config::RuntimeConfig,
    spin_compat: Option<compat::SpinCompat>,
) -> Result<Services> {
    Ok(Services {
        pg: pg::PgPools::default(),
        sqlite: runtime_config
            .sqlite_databases
            .iter()
            .map(|(k, v)| (k.clone(), sqlite::SqliteDatabase::new(v.clone())))
            .collect(),
        kv: kv::build_stores(&runtime_config.kv_stores)?,
        compat: match spin_compat {
            Some(c) => c,
            None => match std::env::var("DEVHOST_SPIN_COMPAT") {
                Ok(v) => compat::SpinCompat::parse(&v)?,
                Err(_) => compat::SpinCompat::default(),
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cli_parsing() {
        let Command::Up(up) = parse_args(&args(&[
            "up",
            "-f",
            "x/spin.toml",
            "--listen=127.0.0.1:0",
            "--runtime-config-file",
            "rc.toml",
        ]))
        .unwrap() else {
            panic!("expected up");
        };
        assert_eq!(up.from.unwrap(), PathBuf::from("x/spin.toml"));
        assert_eq!(up.listen.unwrap(), "127.0.0.1:0");
        assert_eq!(up.runtime_config.unwrap(), PathBuf::from("rc.toml"));
        assert!(parse_args(&args(&["up", "--bogus"])).is_err());
        assert!(parse_args(&args(&["up", "--listen"])).is_err());
        assert!(parse_args(&args(&["down"])).is_err());
    }
}
