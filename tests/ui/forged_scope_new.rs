// Handler code tries the scope's constructor, which only `db` may call.
use tenantry::db::{Home, TenantScope};
use tenantry::domain::TenantId;

fn main() {
    let _scope = TenantScope::new(TenantId::from_string("another-tenant".into()), Home::Main);
}
