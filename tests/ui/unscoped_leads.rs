// Handler code tries to list another tenant's leads by querying the table directly.
use diesel::prelude::*;
use tenantry::db::schema::leads;

fn main() {
    let _query = leads::table.filter(leads::name.eq("Peter"));
}
