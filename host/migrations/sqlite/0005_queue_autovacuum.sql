-- PostgreSQL-only: autovacuum settings of the jobs table (see postgres/0005). Kept so both backends share a numbering.
SELECT 1;
