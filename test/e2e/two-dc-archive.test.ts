/**
 * The fault suite with the archive: both clusters archive into their data center's pgBackRest
 * repository (a TLS server per data center, one per node), and the standby reads its own when its
 * stream breaks. Patroni 3.0.2, PostgreSQL 15, pgBackRest 2.45 (Debian 12).
 */
import { DEBIAN12 } from './harness';
import { twoDcSuite } from './two-dc';

twoDcSuite(DEBIAN12, ['6b', '6c'], 'reliability-archive', { archive: true });
