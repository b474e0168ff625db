//! Usage metrics: the events counted and the figures they add to, what an app
//! may send (`event`), and the UTC days and periods they are read by (`days`).

mod days;
mod event;

pub use days::{format_day, parse_day, Day, Interval, Window};
pub use event::{check_event, CheckedEvent, EventError, EventInput};

/// Events per call of `POST /app/usage`.
pub const BATCH_MAX: usize = 1000;
/// A custom event's name: `[a-z0-9_.]{1,64}`.
pub const NAME_MAX: usize = 64;
/// An event's properties as JSON.
pub const PROPERTIES_MAX: usize = 4 * 1024;
/// Raw events are kept this long unless the organization says otherwise.
pub const RETENTION_DEFAULT_DAYS: i64 = 90;
pub const RETENTION_MAX_DAYS: i64 = 365;
/// The longest window one read covers.
pub const WINDOW_MAX_DAYS: i64 = 731;

pub fn retention_days(days: i64) -> Result<i64, String> {
    if (1..=RETENTION_MAX_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(format!("between 1 and {RETENTION_MAX_DAYS} days"))
    }
}

/// What happened; stored by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    SignIn,
    SolutionOpened,
    ScreenViewed,
    NotificationOpened,
    ApiCall,
    ErrorLog,
    InvitationSent,
    InvitationAccepted,
    NotificationSent,
    NotificationDelivered,
    /// A name of the app's own.
    Custom,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::SignIn,
        Kind::SolutionOpened,
        Kind::ScreenViewed,
        Kind::NotificationOpened,
        Kind::ApiCall,
        Kind::ErrorLog,
        Kind::InvitationSent,
        Kind::InvitationAccepted,
        Kind::NotificationSent,
        Kind::NotificationDelivered,
        Kind::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SignIn => "sign_in",
            Kind::SolutionOpened => "solution_opened",
            Kind::ScreenViewed => "screen_viewed",
            Kind::NotificationOpened => "notification_opened",
            Kind::ApiCall => "api_call",
            Kind::ErrorLog => "error_log",
            Kind::InvitationSent => "invitation_sent",
            Kind::InvitationAccepted => "invitation_accepted",
            Kind::NotificationSent => "notification_sent",
            Kind::NotificationDelivered => "notification_delivered",
            Kind::Custom => "custom",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether the person the event names did something (and so is an active
    /// user that day): a delivered notification is not something they did.
    pub fn is_activity(self) -> bool {
        !matches!(self, Kind::NotificationDelivered)
    }

    /// The figure the event adds to.
    pub fn metric(self) -> Metric {
        match self {
            Kind::SignIn => Metric::SignIns,
            Kind::SolutionOpened => Metric::SolutionOpens,
            Kind::ScreenViewed => Metric::ScreenViews,
            Kind::NotificationOpened => Metric::NotificationOpens,
            Kind::ApiCall => Metric::ApiCalls,
            Kind::ErrorLog => Metric::ErrorLogs,
            Kind::InvitationSent => Metric::InvitationsSent,
            Kind::InvitationAccepted => Metric::InvitationsAccepted,
            Kind::NotificationSent => Metric::NotificationsSent,
            Kind::NotificationDelivered => Metric::NotificationsDelivered,
            Kind::Custom => Metric::CustomEvents,
        }
    }
}

/// A figure of a day's rollup; each is a column of `usage_daily`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Distinct people: over a period it is the people active in it, never a
    /// sum of days.
    ActiveUsers,
    SignIns,
    SolutionOpens,
    ScreenViews,
    NotificationOpens,
    ApiCalls,
    ErrorLogs,
    InvitationsSent,
    InvitationsAccepted,
    NotificationsSent,
    NotificationsDelivered,
    CustomEvents,
}

impl Metric {
    pub const ALL: [Metric; 12] = [
        Metric::ActiveUsers,
        Metric::SignIns,
        Metric::SolutionOpens,
        Metric::ScreenViews,
        Metric::NotificationOpens,
        Metric::ApiCalls,
        Metric::ErrorLogs,
        Metric::InvitationsSent,
        Metric::InvitationsAccepted,
        Metric::NotificationsSent,
        Metric::NotificationsDelivered,
        Metric::CustomEvents,
    ];

    /// Its name in the API, the CSV and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::ActiveUsers => "active_users",
            Metric::SignIns => "sign_ins",
            Metric::SolutionOpens => "solution_opens",
            Metric::ScreenViews => "screen_views",
            Metric::NotificationOpens => "notification_opens",
            Metric::ApiCalls => "api_calls",
            Metric::ErrorLogs => "error_logs",
            Metric::InvitationsSent => "invitations_sent",
            Metric::InvitationsAccepted => "invitations_accepted",
            Metric::NotificationsSent => "notifications_sent",
            Metric::NotificationsDelivered => "notifications_delivered",
            Metric::CustomEvents => "custom_events",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Metric::ActiveUsers => "Active users",
            Metric::SignIns => "Sign-ins",
            Metric::SolutionOpens => "Solution opens",
            Metric::ScreenViews => "Screen views",
            Metric::NotificationOpens => "Notification opens",
            Metric::ApiCalls => "API calls",
            Metric::ErrorLogs => "Error log entries",
            Metric::InvitationsSent => "Invitations sent",
            Metric::InvitationsAccepted => "Invitations accepted",
            Metric::NotificationsSent => "Notifications sent",
            Metric::NotificationsDelivered => "Notifications delivered",
            Metric::CustomEvents => "Custom events",
        }
    }

    /// Whether events of a solution add to it; the others (sign-ins, API
    /// calls, invitations, notifications) belong to the whole organization.
    pub fn of_solutions(self) -> bool {
        matches!(
            self,
            Metric::ActiveUsers
                | Metric::SolutionOpens
                | Metric::ScreenViews
                | Metric::ErrorLogs
                | Metric::CustomEvents
        )
    }

    /// What `n` of it are called in a sentence: "1 sign-in", "3 API calls".
    pub fn unit(self, n: i64) -> &'static str {
        let (one, many) = match self {
            Metric::ActiveUsers => ("active user", "active users"),
            Metric::SignIns => ("sign-in", "sign-ins"),
            Metric::SolutionOpens => ("solution open", "solution opens"),
            Metric::ScreenViews => ("screen view", "screen views"),
            Metric::NotificationOpens => ("notification open", "notification opens"),
            Metric::ApiCalls => ("API call", "API calls"),
            Metric::ErrorLogs => ("error log entry", "error log entries"),
            Metric::InvitationsSent => ("invitation sent", "invitations sent"),
            Metric::InvitationsAccepted => ("invitation accepted", "invitations accepted"),
            Metric::NotificationsSent => ("notification sent", "notifications sent"),
            Metric::NotificationsDelivered => ("notification delivered", "notifications delivered"),
            Metric::CustomEvents => ("custom event", "custom events"),
        };
        if n == 1 {
            one
        } else {
            many
        }
    }

    /// Its place in [`Metric::ALL`], for figures kept as arrays.
    pub fn index(self) -> usize {
        Metric::ALL
            .iter()
            .position(|m| *m == self)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_metric_and_only_deliveries_are_not_activity() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            assert_ne!(kind.metric(), Metric::ActiveUsers, "{kind:?} is a count");
            assert_eq!(kind.is_activity(), kind != Kind::NotificationDelivered);
        }
        for (i, metric) in Metric::ALL.iter().enumerate() {
            assert_eq!(metric.index(), i);
        }
        assert_eq!(Metric::ApiCalls.unit(1), "API call");
        assert_eq!(Metric::ErrorLogs.unit(2), "error log entries");
    }
}
