//! TEMPORARY stub (not to be committed).
use super::*;
pub struct LocalProvider;
impl LocalProvider {
    pub fn new(_d: impl Into<PathBuf>, _o: impl Into<String>) -> Self {
        LocalProvider
    }
}
impl CalendarProvider for LocalProvider {
    async fn busy(&self, _e: &[String], _r: Interval) -> Result<BTreeMap<String, BusyAnswer>, CalendarError> {
        todo!()
    }
    async fn create_series(&self, _s: &SeriesRequest) -> Result<CreateOutcome, CalendarError> {
        todo!()
    }
    async fn list_series(&self) -> Result<Vec<BookedSeries>, CalendarError> {
        todo!()
    }
}
