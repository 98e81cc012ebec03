//! Check-then-write steps under concurrency: the last active admin survives two
//! admins demoting each other at the same moment.

use tenantry::db::team::MemberChange;
use tenantry::domain::{Email, Role};

use crate::both_backends;
use crate::helpers::{Backend, spawn_app};
use crate::other_placements;

async fn two_admins_demoting_each_other_leave_one_admin(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("acme").await;
    let tenant = app
        .db
        .platform_read(|tx| tx.find_tenant_by_slug("acme"))
        .await
        .unwrap()
        .unwrap();
    let scope = tenant.scope.clone();
    let (a, b) = app
        .db
        .write(&scope, |tx| {
            let a =
                tx.insert_member(&Email::parse("a@acme.test").unwrap(), "A", "x", Role::Admin)?;
            let b =
                tx.insert_member(&Email::parse("b@acme.test").unwrap(), "B", "x", Role::Admin)?;
            // Leave only A and B as admins.
            let first = tx
                .find_credentials_by_email(&Email::parse("admin@acme.test").unwrap())?
                .unwrap()
                .member
                .id;
            tx.change_role(&first, Role::Member)?;
            Ok((a, b))
        })
        .await
        .unwrap();
    for round in 0..20 {
        let (db1, db2) = (app.db.clone(), app.db.clone());
        let (s1, s2) = (scope.clone(), scope.clone());
        let (a1, b1) = (a.clone(), b.clone());
        let demote_b = tokio::spawn(async move {
            db1.write(&s1, move |tx| tx.change_role(&b1, Role::Member))
                .await
        });
        let demote_a = tokio::spawn(async move {
            db2.write(&s2, move |tx| tx.change_role(&a1, Role::Member))
                .await
        });
        let outcomes = [
            demote_b.await.unwrap().unwrap(),
            demote_a.await.unwrap().unwrap(),
        ];
        let refused = outcomes
            .iter()
            .filter(|o| matches!(o, MemberChange::LastAdmin))
            .count();
        assert_eq!(
            refused, 1,
            "round {round}: exactly one demotion must be refused"
        );
        // Make both admins again for the next round.
        let (a2, b2) = (a.clone(), b.clone());
        app.db
            .write(&scope, move |tx| {
                tx.change_role(&a2, Role::Admin)?;
                tx.change_role(&b2, Role::Admin)?;
                Ok(())
            })
            .await
            .unwrap();
    }
}

both_backends!(two_admins_demoting_each_other_leave_one_admin);

// The representative set, once per other placement (see `helpers`).
other_placements!(two_admins_demoting_each_other_leave_one_admin,);
