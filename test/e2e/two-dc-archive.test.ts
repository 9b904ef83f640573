/**
 * The fault suite with the archive: both clusters archive into their data center's pgBackRest
 * repository (a TLS server per data center, one per node), and the standby reads its own when its
 * stream breaks (6b, 6c), and a re-seed from dc2's repository against one by pg_basebackup across
 * the link, on pgbench data (6d). Patroni 3.0.2, PostgreSQL 15, pgBackRest 2.45 (Debian 12).
 */
import { DEBIAN12 } from './harness';
import { twoDcSuite } from './two-dc';

twoDcSuite(DEBIAN12, ['6b', '6c', '6d'], 'reliability-archive', { archive: true });
