// Handler code tries to make a scope for a tenant id of its choosing.
use tenantry::db::{Home, TenantScope};
use tenantry::domain::TenantId;

fn main() {
    let _scope = TenantScope {
        tenant_id: TenantId::from_string("another-tenant".into()),
        home: Home::Main,
    };
}
