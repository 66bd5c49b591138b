//! Client-side pacing and request counting.
//!
//! [`Pacer`] is a token bucket (the `governor` crate) that every attempt waits
//! on, so a large organization stays under a provider's per-user request rate
//! instead of running into 429s. [`RequestCounter`] counts the requests that
//! were really sent, retries included, for the cycle log and the tests of a
//! request budget.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A token bucket of `n` requests per second, with a burst of `n`.
pub struct Pacer {
    limiter: DefaultDirectRateLimiter,
}

impl Pacer {
    /// At most `requests` per second (0 is taken as 1).
    pub fn per_second(requests: u32) -> Pacer {
        let per_second = NonZeroU32::new(requests).unwrap_or(NonZeroU32::MIN);
        Pacer {
            limiter: RateLimiter::direct(Quota::per_second(per_second)),
        }
    }

    /// Waits until the next request may be sent.
    pub async fn ready(&self) {
        self.limiter.until_ready().await;
    }
}

/// Requests sent so far, shared by every clone.
#[derive(Clone, Debug, Default)]
pub struct RequestCounter(Arc<AtomicU64>);

impl RequestCounter {
    /// Counts one request sent.
    pub fn add_one(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests counted so far, by this counter and its clones.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[tokio::test]
    async fn the_pacer_lets_a_burst_pass_then_spaces_requests() {
        let pacer = Pacer::per_second(10);
        let started = Instant::now();
        for _ in 0..10 {
            pacer.ready().await;
        }
        let burst = started.elapsed();
        // Two more tokens come back at 100 ms each; only a lower bound is
        // asserted, which a loaded machine cannot break.
        pacer.ready().await;
        pacer.ready().await;
        assert!(
            started.elapsed() >= Duration::from_millis(150),
            "{:?}",
            started.elapsed()
        );
        assert!(burst < started.elapsed());
    }

    #[tokio::test]
    async fn a_rate_of_zero_is_one_per_second() {
        let pacer = Pacer::per_second(0);
        let started = Instant::now();
        pacer.ready().await;
        pacer.ready().await;
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn clones_of_a_counter_count_together() {
        let counter = RequestCounter::default();
        let clone = counter.clone();
        counter.add_one();
        clone.add_one();
        assert_eq!(counter.get(), 2);
        assert_eq!(clone.get(), 2);
    }
}
