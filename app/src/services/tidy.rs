//! When a map of recent entries (a token's last note, its rate-limit cell) drops the stale ones. Walking the map
//! on every insert once it is past a fixed size is quadratic when every entry is recent: with 100,000 tokens in use
//! each minute, every new token's first call walked the whole last-use map (a third of the server's time at scale,
//! and seconds of latency). A walk is due only when the map has doubled since the last one left it.

/// The size past which a map is next tidied.
#[derive(Debug)]
pub struct TidyAbove {
    above: usize,
    floor: usize,
    walks: u64,
}

impl TidyAbove {
    /// Tidies first when the map holds more than `floor` entries.
    pub const fn new(floor: usize) -> Self {
        Self { above: floor, floor, walks: 0 }
    }

    /// Keeps only the entries of `map` that `keep` accepts, when the map is due a walk.
    pub fn retain<K, V, S>(
        &mut self,
        map: &mut std::collections::HashMap<K, V, S>,
        keep: impl FnMut(&K, &mut V) -> bool,
    ) {
        if self.due(map.len()) {
            map.retain(keep);
            self.walked(map.len());
        }
    }

    /// Whether a map of `len` entries is due a walk.
    fn due(&self, len: usize) -> bool {
        len > self.above
    }

    /// A walk left `len` entries: the next is due at twice that (never below the floor).
    fn walked(&mut self, len: usize) {
        self.above = len.saturating_mul(2).max(self.floor);
        self.walks += 1;
    }

    /// Walks so far (for tests).
    pub fn walks(&self) -> u64 {
        self.walks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_of_only_recent_entries_is_walked_a_logarithmic_number_of_times() {
        let mut tidy = TidyAbove::new(1_000);
        let mut map = std::collections::HashMap::new();
        for i in 0..1_000_000 {
            map.insert(i, ());
            // Nothing is stale: the walk keeps everything.
            tidy.retain(&mut map, |_, _| true);
        }
        assert_eq!(map.len(), 1_000_000);
        assert!(tidy.walks() <= 10, "{} walks for a million inserts", tidy.walks());
    }

    #[test]
    fn a_map_that_empties_is_walked_again_from_the_floor() {
        let mut tidy = TidyAbove::new(100);
        assert!(!tidy.due(100));
        assert!(tidy.due(101));
        tidy.walked(5_000);
        assert!(!tidy.due(10_000) && tidy.due(10_001));
        tidy.walked(0);
        assert!(tidy.due(101));
    }
}
