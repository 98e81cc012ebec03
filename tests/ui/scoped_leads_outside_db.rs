// Handler code tries to reach the leads source behind a scope and drop its filter.
use tenantry::db::tenants::Tenant;

fn leak(tenant: &Tenant) {
    let _source = tenant.scope.leads();
}

fn main() {}
