//! Per-request store data and the linker that wires every host interface.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Result;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::allowed_hosts::AllowedHosts;
use crate::bindings;
use crate::kv::KvStores;
use crate::pg::PgPools;
use crate::sqlite::SqliteDatabases;

/// What one component may do, fixed at startup.
pub struct ComponentCtx {
    pub id: String,
    pub variables: HashMap<String, String>,
    pub allowed_hosts: AllowedHosts,
    pub sqlite_databases: HashSet<String>,
    pub key_value_stores: HashSet<String>,
    pub environment: Vec<(String, String)>,
}

/// Host resources shared by all components and requests.
pub struct Services {
    pub pg: PgPools,
    pub sqlite: SqliteDatabases,
    pub kv: KvStores,
    /// Whether Spin's known defects are reproduced (see `compat`).
    pub compat: crate::compat::SpinCompat,
}

pub struct HostState {
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub table: ResourceTable,
    pub hooks: crate::outbound_http::OutboundHooks,
    pub component: Arc<ComponentCtx>,
    pub services: Arc<Services>,
}

impl HostState {
    pub fn new(component: Arc<ComponentCtx>, services: Arc<Services>) -> Self {
        // Like Spin: no arguments, no stdin, stdout/stderr go to the host's,
        // and only the manifest's `environment` is visible.
        let wasi = WasiCtx::builder()
            .inherit_stdout()
            .inherit_stderr()
            .envs(&component.environment)
            .build();
        HostState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: crate::outbound_http::OutboundHooks::new(component.clone()),
            component,
            services,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl bindings::fermyon::spin2_0_0::variables::Host for HostState {
    async fn get(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<String, bindings::fermyon::spin2_0_0::variables::Error>> {
        use bindings::fermyon::spin2_0_0::variables::Error;
        if let Err(e) = crate::manifest::check_variable_name(&name) {
            return Ok(Err(Error::InvalidName(e.to_string())));
        }
        Ok(match self.component.variables.get(&name) {
            Some(v) => Ok(v.clone()),
            None => Err(Error::Undefined(format!(
                "no variable for {:?}.{name:?}",
                self.component.id
            ))),
        })
    }
}

pub fn linker(engine: &wasmtime::Engine) -> Result<Linker<HostState>> {
    let mut linker = Linker::<HostState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    type Me = HasSelf<HostState>;
    bindings::fermyon::spin2_0_0::variables::add_to_linker::<_, Me>(&mut linker, |s| s)?;
    bindings::fermyon::spin2_0_0::key_value::add_to_linker::<_, Me>(&mut linker, |s| s)?;
    bindings::spin::postgres4_0_0::postgres::add_to_linker::<_, Me>(&mut linker, |s| s)?;
    bindings::spin::sqlite::sqlite::add_to_linker::<_, Me>(&mut linker, |s| s)?;
    bindings::wasi::keyvalue::store::add_to_linker::<_, Me>(&mut linker, |s| s)?;
    bindings::wasi::keyvalue::atomics::add_to_linker::<_, Me>(&mut linker, |s| s)?;
    bindings::wasi::keyvalue::batch::add_to_linker::<_, Me>(&mut linker, |s| s)?;
    Ok(linker)
}
