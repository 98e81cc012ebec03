// Handler code tries to reach the raw (filtered) table source behind a scope.
use tenantry::db::tenants::Tenant;

fn leak(tenant: &Tenant) {
    let _source = tenant.scope.users();
}

fn main() {}
