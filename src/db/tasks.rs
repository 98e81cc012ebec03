//! Follow-up tasks on leads: added from a lead's page for an active member,
//! listed per member (overdue first) and per lead, and marked done. Adding and
//! finishing one are entries in the lead's activity.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::leads::{Lead, opening};
use super::now;
use super::schema::{leads, tasks};
use super::scope::TenantTx;
use crate::domain::forms::TaskInput;
use crate::domain::{ActivityKind, LeadId, LeadNumber, MemberId, TaskId, TenantId};

/// Most tasks one list shows (a member's open tasks, a lead's tasks).
pub const MAX_TASKS_LISTED: i64 = 200;

/// A task as stored.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = tasks, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Task {
    /// Its id (in its URLs).
    pub id: TaskId,
    /// The lead it is about.
    pub lead_id: LeadId,
    /// What is to be done.
    pub title: String,
    /// By when.
    pub due_on: NaiveDate,
    /// Who is to do it.
    pub assignee_id: MemberId,
    /// When it was added.
    pub created_at: NaiveDateTime,
    /// When it was done, if it was.
    pub done_at: Option<NaiveDateTime>,
}

/// A task with what a list shows beside it.
#[derive(Clone, Debug)]
pub struct TaskView {
    /// The task.
    pub task: Task,
    /// Its lead's number and name.
    pub lead: (LeadNumber, String),
    /// The assignee's name.
    pub assignee_name: String,
}

impl TaskView {
    /// Whether it is open and its day has passed.
    pub fn is_overdue(&self, today: &NaiveDate) -> bool {
        self.task.done_at.is_none() && self.task.due_on < *today
    }

    /// Whether it is open and due today.
    pub fn is_due_today(&self, today: &NaiveDate) -> bool {
        self.task.done_at.is_none() && self.task.due_on == *today
    }
}

/// Why a task was not added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskRefusal {
    /// The assignee is not an active member of this tenant.
    UnknownAssignee,
}

#[derive(Insertable)]
#[diesel(table_name = tasks)]
struct NewTaskRow<'a> {
    tenant_id: &'a TenantId,
    id: &'a TaskId,
    lead_id: &'a LeadId,
    title: &'a str,
    due_on: NaiveDate,
    assignee_id: &'a MemberId,
    created_by: &'a MemberId,
    created_at: NaiveDateTime,
}

impl TenantTx<'_> {
    /// Adds a task to a lead (already found in this tenant) for an active member
    /// of this tenant, and records it in the lead's activity.
    pub fn add_task(
        &mut self,
        lead: &Lead,
        input: &TaskInput,
        actor: &MemberId,
    ) -> QueryResult<Result<Task, TaskRefusal>> {
        let Some(assignee) = self.find_member(&input.assignee)?.filter(|m| m.active) else {
            return Ok(Err(TaskRefusal::UnknownAssignee));
        };
        let tenant_id = self.scope.tenant_id().clone();
        let at = now();
        let task = Task {
            id: TaskId::generate(),
            lead_id: lead.id.clone(),
            title: input.title.clone(),
            due_on: input.due_on,
            assignee_id: assignee.id,
            created_at: at,
            done_at: None,
        };
        diesel::insert_into(tasks::table)
            .values(NewTaskRow {
                tenant_id: &tenant_id,
                id: &task.id,
                lead_id: &task.lead_id,
                title: &task.title,
                due_on: task.due_on,
                assignee_id: &task.assignee_id,
                created_by: actor,
                created_at: at,
            })
            .execute(self.conn)?;
        let detail = format!(
            "{} (due {}, for {})",
            opening(&task.title),
            task.due_on.format("%Y-%m-%d"),
            assignee.name
        );
        self.record_activity(
            &lead.id,
            lead.status,
            Some(actor),
            ActivityKind::Task,
            &detail,
            at,
        )?;
        Ok(Ok(task))
    }

    /// Marks a task of this tenant done and records it in its lead's activity.
    /// `None` if there is no such task here; `Some((task, false))` if it was
    /// done already (nothing changes).
    pub fn complete_task(
        &mut self,
        id: &TaskId,
        actor: &MemberId,
    ) -> QueryResult<Option<(TaskView, bool)>> {
        let Some(task) = self
            .scope
            .tasks()
            .filter(tasks::id.eq(id))
            .select(Task::as_select())
            .first(self.conn)
            .optional()?
        else {
            return Ok(None);
        };
        let Some(lead) = self
            .scope
            .leads()
            .filter(leads::id.eq(&task.lead_id))
            .select(Lead::as_select())
            .first(self.conn)
            .optional()?
        else {
            return Ok(None);
        };
        let mut view = self
            .describe_tasks(vec![task])?
            .pop()
            .ok_or(diesel::NotFound)?;
        if view.task.done_at.is_some() {
            return Ok(Some((view, false)));
        }
        let at = now();
        // Only an open task is closed, so two members finishing it at once
        // record it once.
        let changed = diesel::update(
            self.scope
                .tasks()
                .filter(tasks::id.eq(id))
                .filter(tasks::done_at.is_null()),
        )
        .set((tasks::done_at.eq(at), tasks::done_by.eq(actor)))
        .execute(self.conn)?;
        if changed == 0 {
            return Ok(Some((view, false)));
        }
        view.task.done_at = Some(at);
        self.record_activity(
            &lead.id,
            lead.status,
            Some(actor),
            ActivityKind::TaskDone,
            &opening(&view.task.title),
            at,
        )?;
        Ok(Some((view, true)))
    }

    /// A member's open tasks, the earliest due first (so overdue ones lead), at
    /// most [`MAX_TASKS_LISTED`].
    pub fn open_tasks_of(&mut self, member: &MemberId) -> QueryResult<Vec<TaskView>> {
        self.open_tasks_due(member, None)
    }

    /// A member's open tasks due on `last` or before (overdue and today's), the
    /// earliest first, at most [`MAX_TASKS_LISTED`].
    pub fn open_tasks_due(
        &mut self,
        member: &MemberId,
        last: Option<NaiveDate>,
    ) -> QueryResult<Vec<TaskView>> {
        let mut query = self
            .scope
            .tasks()
            .filter(tasks::assignee_id.eq(member))
            .filter(tasks::done_at.is_null())
            .into_boxed();
        if let Some(last) = last {
            query = query.filter(tasks::due_on.le(last));
        }
        let rows = query
            .order((
                tasks::due_on.asc(),
                tasks::created_at.asc(),
                tasks::id.asc(),
            ))
            .select(Task::as_select())
            .limit(MAX_TASKS_LISTED)
            .load(self.conn)?;
        self.describe_tasks(rows)
    }

    /// A lead's tasks: open ones by due date, then done ones, most recently done
    /// first; at most [`MAX_TASKS_LISTED`].
    pub fn tasks_of_lead(&mut self, lead: &LeadId) -> QueryResult<Vec<TaskView>> {
        let open = self
            .scope
            .tasks()
            .filter(tasks::lead_id.eq(lead))
            .filter(tasks::done_at.is_null())
            .order((
                tasks::due_on.asc(),
                tasks::created_at.asc(),
                tasks::id.asc(),
            ))
            .select(Task::as_select())
            .limit(MAX_TASKS_LISTED)
            .load(self.conn)?;
        let room = MAX_TASKS_LISTED - open.len() as i64;
        let done = if room > 0 {
            self.scope
                .tasks()
                .filter(tasks::lead_id.eq(lead))
                .filter(tasks::done_at.is_not_null())
                .order((tasks::done_at.desc(), tasks::id.desc()))
                .select(Task::as_select())
                .limit(room)
                .load(self.conn)?
        } else {
            Vec::new()
        };
        self.describe_tasks(open.into_iter().chain(done).collect())
    }

    /// The tasks with their leads' numbers and names and their assignees' names.
    fn describe_tasks(&mut self, rows: Vec<Task>) -> QueryResult<Vec<TaskView>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut lead_ids: Vec<&LeadId> = rows.iter().map(|t| &t.lead_id).collect();
        lead_ids.sort();
        lead_ids.dedup();
        let leads: HashMap<LeadId, (LeadNumber, String)> = self
            .scope
            .leads()
            .filter(leads::id.eq_any(lead_ids))
            .select((leads::id, leads::number, leads::name))
            .load::<(LeadId, LeadNumber, String)>(self.conn)?
            .into_iter()
            .map(|(id, n, name)| (id, (n, name)))
            .collect();
        let mut members: Vec<MemberId> = rows.iter().map(|t| t.assignee_id.clone()).collect();
        members.sort();
        members.dedup();
        let names = self.member_names(members)?;
        Ok(rows
            .into_iter()
            .filter_map(|task| {
                let lead = leads.get(&task.lead_id)?.clone();
                let assignee_name = names
                    .get(&task.assignee_id)
                    .map_or_else(String::new, |(n, _)| n.clone());
                Some(TaskView {
                    task,
                    lead,
                    assignee_name,
                })
            })
            .collect())
    }
}
