//! Mails before a token's lease ends: seven days and one day before, once
//! each for a given lease end, with the link to extend it. Housekeeping
//! looks every ten minutes; each mail is queued in the transaction that notes
//! it sent, so racing instances send it once.

use crate::features::invitations::service::format_time;
use crate::mail::job::queue;
use crate::mail::{greeting, Mail};
use crate::state::AppState;
use muster_store::tokens::{self, LeaseEnding, Reminder};
use muster_store::StoreError;
use time::{Duration, OffsetDateTime};

/// Reminders noted per transaction, and transactions per run.
const BATCH: i64 = 200;
const BATCHES_PER_RUN: usize = 25;

pub async fn chore(state: AppState, now: OffsetDateTime) -> anyhow::Result<()> {
    // The day's first: a token first seen within a day gets only that one.
    for (reminder, from, until) in [
        (Reminder::Day, now, now + Duration::DAY),
        (Reminder::Week, now + Duration::DAY, now + Duration::days(7)),
    ] {
        for _ in 0..BATCHES_PER_RUN {
            let mut tx = state.store.begin().await?;
            let due = tokens::leases_ending(&mut tx, reminder, from, until, BATCH).await?;
            for token in &due {
                if tokens::mark_reminded(&mut tx, token.id, reminder, token.lease_expires_at)
                    .await?
                {
                    let mail = reminder_mail(&state, token, reminder);
                    queue(&mut tx, &state.key, &mail, now).await?;
                }
            }
            tx.commit().await.map_err(StoreError::from)?;
            if due.len() < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                break;
            }
        }
    }
    Ok(())
}

fn reminder_mail(state: &AppState, token: &LeaseEnding, reminder: Reminder) -> Mail {
    let when = match reminder {
        Reminder::Week => "in 7 days",
        Reminder::Day => "tomorrow",
    };
    let greeting = greeting(&token.first_name);
    Mail {
        to: token.email.clone(),
        subject: format!("Your Muster token \"{}\" stops working {when}", token.name),
        text: format!(
            "{greeting}\n\nyour personal access token \"{}\" ({}…) stops working on {} \
             (UTC). Scripts and apps that use it then get 401 from the REST API.\n\n\
             To keep it, extend its lease by 14 days:\n\n{}/me/tokens/{}\n\n\
             If you no longer need it, there is nothing to do; you can also delete it there.\n",
            token.name,
            token.prefix,
            format_time(token.lease_expires_at),
            state.settings.public_url(),
            token.id,
        ),
        html: None,
    }
}
