//! Demo data for `tenantry seed` (filled in below).
