// Handler code tries to query the users table directly, without a tenant scope.
use diesel::prelude::*;
use tenantry::db::schema::users;

fn main() {
    let _query = users::table.filter(users::email.eq("ada@example.com"));
}
