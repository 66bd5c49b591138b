//! Client-side pacing and request counting.
//!
//! [`Pacer`] is a token bucket (the `governor` crate) that every attempt waits
//! on, so a large organization stays under a provider's per-user request rate
//! instead of running into 429s. [`RequestCounter`] counts the requests that
//! were really sent, retries included, for the cycle log and the tests of a
//! request budget.
//!
//! With the `test-hooks` feature a pacer can also run on a [`VirtualClock`]:
//! the same bucket and quota, but a wait moves that clock forward instead of
//! sleeping, and each request's virtual send time is recorded. Tokio's paused
//! clock cannot stand in here: governor keeps its own clock, and a paused
//! runtime that waits for a real server's answer jumps to its next timer (the
//! call timeout) and fires it.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A token bucket of `n` requests per second, with a burst of `n`.
pub struct Pacer {
    bucket: Bucket,
}

enum Bucket {
    /// Governor's own clock; waits are real sleeps.
    Real(DefaultDirectRateLimiter),
    #[cfg(feature = "test-hooks")]
    Virtual(virtual_clock::VirtualBucket),
}

/// The quota of `requests` a second, with a burst of as many (0 is taken as 1).
fn quota(requests: u32) -> Quota {
    Quota::per_second(NonZeroU32::new(requests).unwrap_or(NonZeroU32::MIN))
}

impl Pacer {
    /// At most `requests` per second (0 is taken as 1).
    pub fn per_second(requests: u32) -> Pacer {
        Pacer {
            bucket: Bucket::Real(RateLimiter::direct(quota(requests))),
        }
    }

    /// The same bucket as [`Pacer::per_second`], on `clock`: waiting moves
    /// the clock forward at once, and every request let through is recorded
    /// at its virtual time (tests of a cycle's pacing).
    #[cfg(feature = "test-hooks")]
    pub fn on_virtual_clock(requests: u32, clock: &VirtualClock) -> Pacer {
        Pacer {
            bucket: Bucket::Virtual(virtual_clock::VirtualBucket::new(quota(requests), clock.clone())),
        }
    }

    /// Waits until the next request may be sent.
    pub async fn ready(&self) {
        match &self.bucket {
            Bucket::Real(limiter) => limiter.until_ready().await,
            #[cfg(feature = "test-hooks")]
            Bucket::Virtual(bucket) => bucket.ready(),
        }
    }
}

#[cfg(feature = "test-hooks")]
pub use self::virtual_clock::VirtualClock;

#[cfg(feature = "test-hooks")]
mod virtual_clock {
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Duration;

    use governor::clock::{Clock as _, FakeRelativeClock};
    use governor::middleware::NoOpMiddleware;
    use governor::nanos::Nanos;
    use governor::state::{InMemoryState, NotKeyed};
    use governor::{Quota, RateLimiter};

    /// A clock that only moves when a pacer on it waits, and the virtual
    /// times at which its pacers let requests go. Clones share both.
    #[derive(Clone, Debug, Default)]
    pub struct VirtualClock {
        clock: FakeRelativeClock,
        sends: Arc<Mutex<Vec<Duration>>>,
    }

    impl VirtualClock {
        /// Virtual time since the clock was made.
        pub fn now(&self) -> Duration {
            Duration::from_nanos(self.clock.now().as_u64())
        }

        /// The virtual time of every request let through, in order.
        pub fn sends(&self) -> Vec<Duration> {
            self.sends.lock().unwrap_or_else(PoisonError::into_inner).clone()
        }
    }

    /// Governor's bucket on a [`VirtualClock`].
    pub(super) struct VirtualBucket {
        limiter: RateLimiter<NotKeyed, InMemoryState, FakeRelativeClock, NoOpMiddleware<Nanos>>,
        clock: VirtualClock,
    }

    impl VirtualBucket {
        pub(super) fn new(quota: Quota, clock: VirtualClock) -> VirtualBucket {
            VirtualBucket {
                limiter: RateLimiter::direct_with_clock(quota, clock.clock.clone()),
                clock,
            }
        }

        /// What governor's `until_ready` does, with the sleep replaced by
        /// moving the clock to the instant the bucket names.
        pub(super) fn ready(&self) {
            loop {
                match self.limiter.check() {
                    Ok(()) => break,
                    Err(not_until) => self
                        .clock
                        .clock
                        .advance(not_until.wait_time_from(self.clock.clock.now())),
                }
            }
            self.clock
                .sends
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(self.clock.now());
        }
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

    /// On a virtual clock the bucket's schedule is exact: a burst of `n` at
    /// zero, then one request every `1/n`.
    #[cfg(feature = "test-hooks")]
    #[tokio::test]
    async fn on_a_virtual_clock_the_burst_passes_then_requests_are_spaced_exactly() {
        let clock = VirtualClock::default();
        let pacer = Pacer::on_virtual_clock(4, &clock);
        for _ in 0..10 {
            pacer.ready().await;
        }
        let ms = |m: u64| Duration::from_millis(m);
        let expected: Vec<Duration> = [0, 0, 0, 0, 250, 500, 750, 1000, 1250, 1500].map(ms).to_vec();
        assert_eq!(clock.sends(), expected);
        assert_eq!(clock.now(), ms(1500));
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
