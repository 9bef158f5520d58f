//! Giving a big group's licenses in the background: a job walks the members in id order, a
//! step of `STEP` members per transaction (each member's change whole in one step), and keeps
//! its place, so a crash or a restart resumes where it stopped. Started by the request, run
//! at once by the server in the background and by every `tick`. Giving is idempotent: a
//! member who already has a product from the group is left as they are.

use super::*;

/// Members per step: one transaction each.
pub const STEP: i64 = 500;

crate::domain::text_enum::text_enum! {
    /// Whether a group's job is still giving licenses.
    pub enum JobState {
        Running = "running",
        Finished = "finished",
    }
}

/// A group's background work as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobProgress {
    pub running: bool,
    pub done: i64,
    pub total: i64,
    pub assigned: i64,
    pub failed: i64,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Starts (or restarts from the first member) the group's job. Under the license lock.
pub(crate) fn start(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    group: GroupId,
    group_name: &str,
) -> Result<(), DomainError> {
    let total: i64 = group_members::table
        .filter(group_members::group_id.eq(group.0))
        .count()
        .get_result(conn)?;
    let total = i32::try_from(total).unwrap_or(i32::MAX);
    let restarted = diesel::update(
        group_jobs::table
            .filter(group_jobs::group_id.eq(group.0))
            .filter(group_jobs::state.eq(JobState::Running)),
    )
    // The walk starts again, so the members still without a seat are counted again: the
    // failures so far are forgotten. The seats given so far stay given (the walk finds them
    // held), so they stay counted.
    .set((
        group_jobs::total.eq(total),
        group_jobs::done.eq(0),
        group_jobs::failed.eq(0),
        group_jobs::after_user.eq(None::<i64>),
    ))
    .execute(conn)?;
    if restarted == 0 {
        diesel::insert_into(group_jobs::table)
            .values((
                group_jobs::tenant_id.eq(tenant.0),
                group_jobs::group_id.eq(group.0),
                group_jobs::state.eq(JobState::Running),
                group_jobs::total.eq(total),
                group_jobs::started_by.eq(actor.label()),
                group_jobs::started_at.eq(naive(now)),
            ))
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        now,
        Some(tenant),
        "Started applying group licenses",
        group_name,
        &format!("{total} members"),
    )
}

#[derive(Queryable)]
struct Job {
    id: i64,
    tenant_id: i64,
    group_id: i64,
    after_user: Option<i64>,
    assigned: i32,
    failed: i32,
    started_by: String,
}

/// Runs one step of job `id`: the next `STEP` members get the group's products. Returns
/// whether the job still runs.
fn step(conn: &mut DbConnection, now: DateTime<Utc>, id: i64) -> Result<bool, DomainError> {
    crate::domain::db::transaction(conn, |conn| {
        let Some(tenant) = group_jobs::table
            .find(id)
            .filter(group_jobs::state.eq(JobState::Running))
            .select(group_jobs::tenant_id)
            .first::<i64>(conn)
            .optional()?
        else {
            return Ok(false);
        };
        let tenant = TenantId(tenant);
        licenses::lock(conn, tenant)?;
        // Read again under the lock: a request may have restarted it meanwhile.
        let Some(job) = group_jobs::table
            .find(id)
            .filter(group_jobs::state.eq(JobState::Running))
            .select((
                group_jobs::id,
                group_jobs::tenant_id,
                group_jobs::group_id,
                group_jobs::after_user,
                group_jobs::assigned,
                group_jobs::failed,
                group_jobs::started_by,
            ))
            .first::<Job>(conn)
            .optional()?
        else {
            return Ok(false);
        };
        let group = GroupId(job.group_id);
        let name = group_name(conn, TenantId(job.tenant_id), group)?;
        let batch: Vec<UserId> = group_members::table
            .filter(group_members::group_id.eq(group.0))
            .filter(group_members::user_id.gt(job.after_user.unwrap_or(0)))
            .order(group_members::user_id)
            .limit(STEP)
            .select(group_members::user_id)
            .load::<i64>(conn)?
            .into_iter()
            .map(UserId)
            .collect();
        let actor = Actor::System("group licensing");
        let given = give_group_licenses(conn, &actor, now, tenant, group, &name, &batch)?;
        let assigned = job.assigned + given.assigned as i32;
        let failed = job.failed + given.failed as i32;
        let last = batch.last().map(|u| u.0);
        let finished = (batch.len() as i64) < STEP;
        diesel::update(group_jobs::table.find(job.id))
            .set((
                group_jobs::done.eq(group_jobs::done + batch.len() as i32),
                group_jobs::assigned.eq(assigned),
                group_jobs::failed.eq(failed),
                group_jobs::after_user.eq(last.or(job.after_user)),
            ))
            .execute(conn)?;
        if finished {
            diesel::update(group_jobs::table.find(job.id))
                .set((
                    group_jobs::state.eq(JobState::Finished),
                    group_jobs::finished_at.eq(Some(naive(now))),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                &actor,
                now,
                Some(tenant),
                "Finished applying group licenses",
                &name,
                &format!(
                    "Finished: {assigned} assigned, {failed} failed (started by {})",
                    job.started_by
                ),
            )?;
        }
        Ok(!finished)
    })
}

/// Runs every running job to its end, step by step; a step that fails is logged and counted
/// in `failures`, and that job is left for the next run. Returns the steps run.
pub fn drain(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    failures: &mut usize,
) -> Result<usize, DomainError> {
    let running: Vec<i64> = group_jobs::table
        .filter(group_jobs::state.eq(JobState::Running))
        .order(group_jobs::id)
        .select(group_jobs::id)
        .load(conn)?;
    let mut steps = 0;
    for id in running {
        loop {
            let more = step(conn, now, id);
            steps += 1;
            match crate::domain::db::keep_going(failures, "group licensing step", id, more) {
                Some(true) => continue,
                _ => break,
            }
        }
    }
    Ok(steps)
}

/// Whether any group job is waiting to run.
pub fn pending(conn: &mut DbConnection) -> Result<bool, DomainError> {
    let n: i64 = group_jobs::table
        .filter(group_jobs::state.eq(JobState::Running))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The group's running job, or the last finished one.
pub(crate) fn progress(
    conn: &mut DbConnection,
    group: GroupId,
) -> Result<Option<JobProgress>, DomainError> {
    let row: Option<(JobState, i32, i32, i32, i32, Option<chrono::NaiveDateTime>)> =
        group_jobs::table
            .filter(group_jobs::group_id.eq(group.0))
            .order(group_jobs::id.desc())
            .select((
                group_jobs::state,
                group_jobs::done,
                group_jobs::total,
                group_jobs::assigned,
                group_jobs::failed,
                group_jobs::finished_at,
            ))
            .first(conn)
            .optional()?;
    Ok(row.map(
        |(state, done, total, assigned, failed, finished_at)| JobProgress {
            running: state == JobState::Running,
            done: done.into(),
            total: total.into(),
            assigned: assigned.into(),
            failed: failed.into(),
            finished_at: finished_at.map(utc),
        },
    ))
}
