//! Spare stores: schemas or databases made and migrated ahead of sign-ups, so
//! that a sign-up into the schema or dedicated placement takes one (a row
//! deleted in the directory's transaction) instead of waiting for PostgreSQL to
//! create a database and run every migration (SQLite files are quick to make,
//! and are named by their tenant, so they are made at sign-up).

use anyhow::Context;
use diesel::prelude::*;

use super::migrate::migrate_home;
use super::schema::spare_stores;
use super::stores::{Home, StoreLayout, create_home, drop_home};
use super::{DbConnection, establish};
use crate::config::DbKind;
use crate::domain::Placement;

/// Makes spares of `placement` until `target` are ready. Returns how many it made.
/// Runs as the owner; a spare is listed only once it is migrated, so a crash
/// mid-way leaves at most an unlisted store.
pub fn fill_spares(layout: &StoreLayout, placement: Placement, target: u32) -> anyhow::Result<u32> {
    if layout.kind() != DbKind::Postgres || placement == Placement::Shared {
        return Ok(0);
    }
    let mut made = 0;
    loop {
        let mut conn = establish(layout.main_owner_url()).context("connecting as the owner")?;
        let ready: i64 = spare_stores::table
            .filter(spare_stores::placement.eq(placement.as_str()))
            .count()
            .get_result(&mut conn)?;
        if ready >= i64::from(target) {
            return Ok(made);
        }
        let name = layout.new_store_name(placement, None);
        let home = match placement {
            Placement::Schema => Home::Schema(name.clone()),
            _ => Home::Dedicated {
                name: name.clone(),
                server: None,
            },
        };
        let listed = create_home(layout, &home)
            .and_then(|()| migrate_home(layout, &home))
            .and_then(|_| list_spare(&mut conn, name.as_str(), placement));
        if let Err(e) = listed {
            let _ = drop_home(layout, &home);
            return Err(e.context("making a spare store"));
        }
        made += 1;
    }
}

fn list_spare(conn: &mut DbConnection, name: &str, placement: Placement) -> anyhow::Result<()> {
    diesel::insert_into(spare_stores::table)
        .values((
            spare_stores::name.eq(name),
            spare_stores::placement.eq(placement.as_str()),
            spare_stores::created_at.eq(super::now()),
        ))
        .execute(conn)?;
    Ok(())
}
