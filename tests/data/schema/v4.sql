-- Schema version 4: migration 3 -> 4 as customs shipped it (see SOURCE.md).
ALTER TABLE scan_results ADD COLUMN report_blob TEXT;
CREATE INDEX scan_results_by_blob ON scan_results(report_blob) WHERE report_blob IS NOT NULL;
