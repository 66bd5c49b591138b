//! The calendar provider a configuration names: `Provider`, one enum over
//! the providers (the trait uses `async fn`, so static dispatch), and how it is
//! built from the configuration.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::calendar::caldav::CaldavProvider;
use crate::calendar::google::{GoogleProvider, Timing};
use crate::calendar::local::LocalProvider;
use crate::calendar::microsoft::MicrosoftProvider;
use crate::calendar::{
    BookedSeries, BusyAnswer, CalendarError, CalendarProvider, Capabilities, Changes, CreateOutcome, DeleteOutcome,
    EndOutcome, SeriesRequest,
};
use crate::config::{Config, ProviderKind};
use crate::core::interval::Interval;

use crate::failure::Failure;

/// The calendar provider a configuration names. Static dispatch: the trait
/// uses `async fn`, so it cannot be a trait object.
#[derive(Debug)]
pub enum Provider {
    Local(LocalProvider),
    /// Boxed: it is much larger than the local provider.
    Google(Box<GoogleProvider>),
    Microsoft(Box<MicrosoftProvider>),
    Caldav(Box<CaldavProvider>),
}

impl CalendarProvider for Provider {
    async fn busy(&self, emails: &[String], range: Interval) -> Result<BTreeMap<String, BusyAnswer>, CalendarError> {
        match self {
            Provider::Local(p) => p.busy(emails, range).await,
            Provider::Google(p) => p.busy(emails, range).await,
            Provider::Microsoft(p) => p.busy(emails, range).await,
            Provider::Caldav(p) => p.busy(emails, range).await,
        }
    }

    async fn create_series(&self, series: &SeriesRequest) -> Result<CreateOutcome, CalendarError> {
        match self {
            Provider::Local(p) => p.create_series(series).await,
            Provider::Google(p) => p.create_series(series).await,
            Provider::Microsoft(p) => p.create_series(series).await,
            Provider::Caldav(p) => p.create_series(series).await,
        }
    }

    async fn create_many(&self, series: &[SeriesRequest]) -> Vec<Result<CreateOutcome, CalendarError>> {
        match self {
            Provider::Local(p) => p.create_many(series).await,
            Provider::Google(p) => p.create_many(series).await,
            Provider::Microsoft(p) => p.create_many(series).await,
            Provider::Caldav(p) => p.create_many(series).await,
        }
    }

    fn batch_size(&self) -> usize {
        match self {
            Provider::Local(p) => p.batch_size(),
            Provider::Google(p) => p.batch_size(),
            Provider::Microsoft(p) => p.batch_size(),
            Provider::Caldav(p) => p.batch_size(),
        }
    }

    async fn get_many(
        &self,
        event_ids: &[String],
    ) -> Result<Vec<Result<Option<BookedSeries>, CalendarError>>, CalendarError> {
        match self {
            Provider::Local(p) => p.get_many(event_ids).await,
            Provider::Google(p) => p.get_many(event_ids).await,
            Provider::Microsoft(p) => p.get_many(event_ids).await,
            Provider::Caldav(p) => p.get_many(event_ids).await,
        }
    }

    async fn list_series(&self) -> Result<Vec<BookedSeries>, CalendarError> {
        match self {
            Provider::Local(p) => p.list_series().await,
            Provider::Google(p) => p.list_series().await,
            Provider::Microsoft(p) => p.list_series().await,
            Provider::Caldav(p) => p.list_series().await,
        }
    }

    async fn get_series(&self, event_id: &str) -> Result<Option<BookedSeries>, CalendarError> {
        match self {
            Provider::Local(p) => p.get_series(event_id).await,
            Provider::Google(p) => p.get_series(event_id).await,
            Provider::Microsoft(p) => p.get_series(event_id).await,
            Provider::Caldav(p) => p.get_series(event_id).await,
        }
    }

    async fn delete_series(&self, event_id: &str) -> Result<DeleteOutcome, CalendarError> {
        match self {
            Provider::Local(p) => p.delete_series(event_id).await,
            Provider::Google(p) => p.delete_series(event_id).await,
            Provider::Microsoft(p) => p.delete_series(event_id).await,
            Provider::Caldav(p) => p.delete_series(event_id).await,
        }
    }

    async fn end_series(&self, event_id: &str, until: Timestamp) -> Result<EndOutcome, CalendarError> {
        match self {
            Provider::Local(p) => p.end_series(event_id, until).await,
            Provider::Google(p) => p.end_series(event_id, until).await,
            Provider::Microsoft(p) => p.end_series(event_id, until).await,
            Provider::Caldav(p) => p.end_series(event_id, until).await,
        }
    }

    async fn end_booked_series(
        &self,
        series: &crate::calendar::SeriesRequest,
        until: Timestamp,
    ) -> Result<EndOutcome, CalendarError> {
        match self {
            Provider::Local(p) => p.end_booked_series(series, until).await,
            Provider::Google(p) => p.end_booked_series(series, until).await,
            Provider::Microsoft(p) => p.end_booked_series(series, until).await,
            Provider::Caldav(p) => p.end_booked_series(series, until).await,
        }
    }

    fn write_timeout(&self) -> jiff::SignedDuration {
        match self {
            Provider::Local(p) => p.write_timeout(),
            Provider::Google(p) => p.write_timeout(),
            Provider::Microsoft(p) => p.write_timeout(),
            Provider::Caldav(p) => p.write_timeout(),
        }
    }

    async fn list_changes(&self, token: Option<&str>, now: Timestamp) -> Result<Changes, CalendarError> {
        match self {
            Provider::Local(p) => p.list_changes(token, now).await,
            Provider::Google(p) => p.list_changes(token, now).await,
            Provider::Microsoft(p) => p.list_changes(token, now).await,
            Provider::Caldav(p) => p.list_changes(token, now).await,
        }
    }

    async fn move_occurrence(
        &self,
        series_id: &str,
        instance_id: &str,
        to: Interval,
        zone: &str,
    ) -> Result<(), CalendarError> {
        match self {
            Provider::Local(p) => p.move_occurrence(series_id, instance_id, to, zone).await,
            Provider::Google(p) => p.move_occurrence(series_id, instance_id, to, zone).await,
            Provider::Microsoft(p) => p.move_occurrence(series_id, instance_id, to, zone).await,
            Provider::Caldav(p) => p.move_occurrence(series_id, instance_id, to, zone).await,
        }
    }

    fn capabilities(&self) -> Capabilities {
        match self {
            Provider::Local(p) => p.capabilities(),
            Provider::Google(p) => p.capabilities(),
            Provider::Microsoft(p) => p.capabilities(),
            Provider::Caldav(p) => p.capabilities(),
        }
    }

    async fn token_after_own_writes(&self, token: &str, now: Timestamp) -> Result<Option<String>, CalendarError> {
        match self {
            Provider::Local(p) => p.token_after_own_writes(token, now).await,
            Provider::Google(p) => p.token_after_own_writes(token, now).await,
            Provider::Microsoft(p) => p.token_after_own_writes(token, now).await,
            Provider::Caldav(p) => p.token_after_own_writes(token, now).await,
        }
    }

    fn requests(&self) -> u64 {
        match self {
            Provider::Local(p) => p.requests(),
            Provider::Google(p) => p.requests(),
            Provider::Microsoft(p) => p.requests(),
            Provider::Caldav(p) => p.requests(),
        }
    }

    fn reads_only(&self) {
        match self {
            Provider::Local(p) => p.reads_only(),
            Provider::Google(p) => p.reads_only(),
            Provider::Microsoft(p) => p.reads_only(),
            Provider::Caldav(p) => p.reads_only(),
        }
    }

    fn steps(&self) -> u64 {
        match self {
            Provider::Local(p) => p.steps(),
            Provider::Google(p) => p.steps(),
            Provider::Microsoft(p) => p.steps(),
            Provider::Caldav(p) => p.steps(),
        }
    }
}

/// The calendar provider the configuration names. For Google the credential
/// files are read and checked here; a missing token surfaces at the first call.
pub async fn provider(cfg: &Config) -> Result<Provider, Failure> {
    match (cfg.calendar.provider, &cfg.calendar.local) {
        (ProviderKind::Local, Some(local)) => Ok(Provider::Local(local_provider(cfg, &local.dir))),
        (ProviderKind::Local, None) => Err(Failure::Usage(anyhow::anyhow!(
            "{}: calendar.local.dir is required with provider = \"local\"",
            cfg.path.display()
        ))),
        (ProviderKind::Microsoft, _) => Ok(Provider::Microsoft(Box::new(MicrosoftProvider::with_timing(
            cfg,
            timing()?,
        )?))),
        (ProviderKind::Caldav, _) => Ok(Provider::Caldav(Box::new(CaldavProvider::with_timing(cfg, timing()?)?))),
        (ProviderKind::Google, _) => {
            let timing = timing()?;
            Ok(Provider::Google(Box::new(
                GoogleProvider::with_timing(cfg, timing).await?,
            )))
        }
    }
}

/// The HTTP clients' timing. Tests of the binary shorten the retries; a
/// release build has only the defaults.
fn timing() -> Result<Timing, Failure> {
    #[cfg(feature = "test-hooks")]
    return crate::test_hooks::google_timing();
    #[cfg(not(feature = "test-hooks"))]
    Ok(Timing::default())
}

/// What `liaison check` says about the credentials of the provider the
/// configuration names (the local provider has none); a bad credential file
/// is an error. Each provider's credentials are its own business; this is the
/// one place that picks.
pub async fn describe_credentials(cfg: &Config, now: Timestamp) -> Result<Vec<String>, Failure> {
    Ok(match cfg.calendar.provider {
        ProviderKind::Google => crate::calendar::google::describe_credentials(cfg, now).await?,
        ProviderKind::Microsoft => crate::calendar::microsoft::describe_credentials(cfg).await?,
        ProviderKind::Caldav => crate::calendar::caldav::describe_credentials(cfg).await?,
        ProviderKind::Local => Vec::new(),
    })
}

/// The local provider on `dir`, reading floating and all-day times in each
/// person's zone.
pub fn local_provider(cfg: &Config, dir: &std::path::Path) -> LocalProvider {
    let zones = cfg.people.iter().map(|p| (p.email.clone(), p.timezone.clone()));
    LocalProvider::new(dir, &cfg.calendar.google.organizer)
        .with_time_zones(cfg.timezone.clone(), zones)
        .with_instance(cfg.calendar.instance.clone())
}

/// `liaison auth` for the provider the configuration names: the one-time
/// grant, then one read that proves it reaches the organizer's calendar.
/// `print` gets each part of the report as soon as it is known, so a grant
/// that was stored is reported even when the read after it fails.
pub async fn authorize(
    cfg: &Config,
    open_browser: bool,
    mut print: impl FnMut(String) -> Result<(), Failure>,
) -> Result<(), Failure> {
    use crate::calendar::{google, microsoft};
    match cfg.calendar.provider {
        ProviderKind::Local => Err(Failure::Usage(anyhow::anyhow!(
            "{}: calendar.provider is \"local\"; there is nothing to authorize (set provider = \"google\" or \"microsoft\")",
            cfg.path.display()
        ))),
        ProviderKind::Caldav => Err(Failure::Usage(anyhow::anyhow!(
            "{}: calendar.provider is \"caldav\"; there is nothing to authorize: liaison signs in with calendar.caldav.password_file at each start (`liaison check` tries it)",
            cfg.path.display()
        ))),
        ProviderKind::Microsoft => {
            private_state_dir(cfg)?;
            print(microsoft::authorize(cfg).await?.to_string())?;
            // Proves the token reaches the organizer's mailbox (permissions,
            // an application access policy).
            MicrosoftProvider::from_config(cfg)?.check_organizer().await?;
            print(format!(
                "organizer mailbox: {} (reachable)\n",
                microsoft::organizer_mailbox(cfg)?
            ))
        }
        ProviderKind::Google => {
            private_state_dir(cfg)?;
            let report = google::authorize(cfg, google::AuthOptions { open_browser }).await?;
            print(report.to_string())?;
            // Which account (or calendar) was authorized: best effort, the token is stored.
            let organizer = &cfg.calendar.google.organizer;
            match GoogleProvider::from_config(cfg).await?.organizer_summary().await {
                Ok(Some(title)) if organizer == "primary" => print(format!("account: {title}\n")),
                Ok(Some(title)) => print(format!("organizer calendar: {organizer} ({title})\n")),
                Ok(None) => Ok(()),
                Err(e) => print(format!("could not read the organizer calendar {organizer}: {e}\n")),
            }
        }
    }
}

/// The state directory, where `liaison auth` stores the grant, made private
/// before anyone signs in; one that is not liaison's own is refused with the
/// state's exit code (4), as at the daemon's start.
fn private_state_dir(cfg: &Config) -> Result<(), Failure> {
    crate::fsutil::create_private_dir(&cfg.state_dir).map_err(|e| {
        let error = anyhow::anyhow!("state directory {}: {e}", cfg.state_dir.display());
        if crate::fsutil::refusal(&e).is_some() {
            Failure::State(error)
        } else {
            Failure::Other(error)
        }
    })
}
