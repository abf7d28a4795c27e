-- dionysus: domain-model change data capture to Kafka.
-- The install script is built by the Makefile from the files of sql/install/,
-- concatenated in name order: 10_catalog, 20_outbox, 30_api, 40_status,
-- 90_privileges. These are the files people edit.
\echo Use "CREATE EXTENSION dionysus" to load this file. \quit
