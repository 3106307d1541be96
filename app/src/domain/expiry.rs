//! Token expiry: "never" or a calendar date on or after today, ending at 23:59:59 of that date (SPEC §2).
//! Dates here are local to the server's time zone; the server turns them into instants.

use chrono::{DateTime, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// When a token stops working, as the user chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiry {
    Never,
    /// The token works until the last second of this date.
    On(NaiveDate),
}

/// Why a typed expiry was refused. Each variant names exactly one rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error("Enter the date as YYYY-MM-DD, for example 2027-01-31.")]
    BadFormat,
    #[error("{date} is not a date on the calendar.")]
    NotOnCalendar { date: String },
    #[error("The expiry date must be today or later.")]
    InPast,
}

/// How a token's expiry looks right now, for the tokens table (SPEC §5: yellow under 24 hours, red when expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExpiryStatus {
    Never,
    Active,
    ExpiresSoon,
    Expired,
}

/// Tokens are warned about once less than this remains.
const SOON: TimeDelta = TimeDelta::hours(24);

const LAST_SECOND_OF_DAY: NaiveTime = match NaiveTime::from_hms_opt(23, 59, 59) {
    Some(time) => time,
    None => panic!("23:59:59 is a valid time"),
};

impl Expiry {
    /// Accepts "never" in any case, or a date typed strictly as `YYYY-MM-DD` on or after `today`. Surrounding
    /// spaces are ignored. An empty input is refused: choosing "never" is the UI's explicit decision.
    pub fn parse(raw: &str, today: NaiveDate) -> Result<Self, ExpiryError> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("never") {
            return Ok(Self::Never);
        }
        let date = parse_date(raw)?;
        if date < today {
            return Err(ExpiryError::InPast);
        }
        Ok(Self::On(date))
    }

    /// The date the UI offers by default: the same day next year, or February 28 when today is February 29.
    pub fn default_for(today: NaiveDate) -> NaiveDate {
        // chrono clamps to the end of the month, which is exactly the leap-day rule.
        today.checked_add_months(Months::new(12)).unwrap_or(NaiveDate::MAX)
    }

    /// The last second a token expiring on `date` still works, in the server's local time.
    pub fn last_second(date: NaiveDate) -> NaiveDateTime {
        date.and_time(LAST_SECOND_OF_DAY)
    }

    /// The chosen date, if any.
    pub fn date(self) -> Option<NaiveDate> {
        match self {
            Self::Never => None,
            Self::On(date) => Some(date),
        }
    }

    /// Where a token expiring at `expires_at` stands at `now`. At the expiry instant itself it is already expired.
    pub fn status(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> ExpiryStatus {
        match expires_at {
            None => ExpiryStatus::Never,
            Some(at) if now >= at => ExpiryStatus::Expired,
            Some(at) if at.signed_duration_since(now) < SOON => ExpiryStatus::ExpiresSoon,
            Some(_) => ExpiryStatus::Active,
        }
    }
}

/// Strictly `YYYY-MM-DD`: chrono's own parser also takes signs, short years and unpadded fields.
fn parse_date(raw: &str) -> Result<NaiveDate, ExpiryError> {
    let bytes = raw.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() });
    if !shaped {
        return Err(ExpiryError::BadFormat);
    }
    // Only ASCII digits and hyphens remain, so the slices fall on characters and the numbers parse.
    let number = |range: std::ops::Range<usize>| raw[range].parse::<u32>().map_err(|_| ExpiryError::BadFormat);
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    // Four digits always fit an i32.
    let year = i32::try_from(year).map_err(|_| ExpiryError::BadFormat)?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| ExpiryError::NotOnCalendar { date: raw.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn today() -> NaiveDate {
        date(2026, 1, 15)
    }

    fn utc(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn never_in_any_case_with_spaces() {
        for raw in ["never", "Never", "  NEVER\n"] {
            assert_eq!(Expiry::parse(raw, today()), Ok(Expiry::Never));
        }
        assert_eq!(Expiry::Never.date(), None);
    }

    #[test]
    fn a_future_date_is_accepted() {
        assert_eq!(Expiry::parse("2027-01-31", today()), Ok(Expiry::On(date(2027, 1, 31))));
        assert_eq!(Expiry::parse(" 2027-01-31 ", today()).unwrap().date(), Some(date(2027, 1, 31)));
    }

    #[test]
    fn today_is_accepted_and_yesterday_is_not() {
        assert_eq!(Expiry::parse("2026-01-15", today()), Ok(Expiry::On(today())));
        let err = Expiry::parse("2026-01-14", today()).unwrap_err();
        assert_eq!(err, ExpiryError::InPast);
        assert_eq!(err.to_string(), "The expiry date must be today or later.");
    }

    #[test]
    fn anything_but_yyyy_mm_dd_asks_for_the_format() {
        for raw in
            ["", "  ", "tomorrow", "2027-1-31", "27-01-31", "2027/01/31", "+2027-01-31", "12027-01-31", "2027-01-3１"]
        {
            assert_eq!(Expiry::parse(raw, today()), Err(ExpiryError::BadFormat), "{raw:?}");
        }
        assert_eq!(ExpiryError::BadFormat.to_string(), "Enter the date as YYYY-MM-DD, for example 2027-01-31.");
    }

    #[test]
    fn impossible_dates_are_named() {
        let err = Expiry::parse("2026-02-30", today()).unwrap_err();
        assert_eq!(err.to_string(), "2026-02-30 is not a date on the calendar.");
        for raw in ["2026-13-01", "2026-00-10", "2026-04-31", "2027-02-29"] {
            assert_eq!(Expiry::parse(raw, today()), Err(ExpiryError::NotOnCalendar { date: raw.to_owned() }));
        }
        assert_eq!(Expiry::parse("2028-02-29", today()), Ok(Expiry::On(date(2028, 2, 29))));
    }

    #[test]
    fn default_is_one_year_ahead_and_leap_day_falls_back() {
        assert_eq!(Expiry::default_for(date(2026, 1, 15)), date(2027, 1, 15));
        assert_eq!(Expiry::default_for(date(2028, 2, 29)), date(2029, 2, 28));
        assert_eq!(Expiry::default_for(date(2027, 2, 28)), date(2028, 2, 28));
    }

    #[test]
    fn last_second_is_23_59_59() {
        assert_eq!(Expiry::last_second(date(2027, 1, 31)).to_string(), "2027-01-31 23:59:59");
    }

    #[test]
    fn status_follows_the_clock() {
        let at = utc("2027-01-31T23:59:59Z");
        assert_eq!(Expiry::status(None, at), ExpiryStatus::Never);
        assert_eq!(Expiry::status(Some(at), utc("2027-01-01T00:00:00Z")), ExpiryStatus::Active);
        // Exactly 24 hours left is not yet "soon"; one second less is.
        assert_eq!(Expiry::status(Some(at), utc("2027-01-30T23:59:59Z")), ExpiryStatus::Active);
        assert_eq!(Expiry::status(Some(at), utc("2027-01-31T00:00:00Z")), ExpiryStatus::ExpiresSoon);
        assert_eq!(Expiry::status(Some(at), utc("2027-01-31T23:59:58Z")), ExpiryStatus::ExpiresSoon);
        // The expiry instant itself no longer works.
        assert_eq!(Expiry::status(Some(at), at), ExpiryStatus::Expired);
        assert_eq!(Expiry::status(Some(at), utc("2027-02-01T00:00:00Z")), ExpiryStatus::Expired);
    }

    #[test]
    fn serde_round_trips() {
        for expiry in [Expiry::Never, Expiry::On(date(2027, 1, 31))] {
            let json = serde_json::to_string(&expiry).unwrap();
            assert_eq!(serde_json::from_str::<Expiry>(&json).unwrap(), expiry);
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in any::<String>()) {
            let _ = Expiry::parse(&raw, today());
        }

        #[test]
        fn parse_never_panics_on_date_shapes(raw in "[0-9]{4}-[0-9]{2}-[0-9]{2}") {
            let _ = Expiry::parse(&raw, today());
        }

        #[test]
        fn valid_dates_round_trip(days in 0i64..200_000) {
            let day = today() + TimeDelta::days(days);
            prop_assert_eq!(Expiry::parse(&day.format("%Y-%m-%d").to_string(), today()), Ok(Expiry::On(day)));
        }
    }
}
