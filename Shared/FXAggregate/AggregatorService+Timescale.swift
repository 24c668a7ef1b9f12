import FXPostgres

extension AggregatorService {
    /// With TimescaleDB's Timescale License edition: compression of `candles` chunks older than
    /// `compressAfter` (segmented by source, symbol, timeframe) and, when `dropAfter` is set, a retention
    /// policy dropping chunks older than that. The policies are made to match the configuration at every
    /// start (under an advisory lock, so instances starting together do not race). Runs once the schema
    /// is current, so a fresh database gets its policies at the first start. Returns whether compression
    /// is on (then ticks older than its horizon are rejected).
    func setUpTimescale(connection: PostgresConnection, capabilities: PostgresCapabilities) async -> Bool {
        logger.info("\(capabilities.timescaleSummary)")
        guard capabilities.timescalePolicies else {
            if capabilities.timescaleEnabled {
                logger.notice("TimescaleDB compression and retention policies off: this server's edition is \(capabilities.timescaleLicense ?? "unknown") (they need the Timescale License edition)")
            } else if configuration.dropAfter > .zero {
                logger.notice("drop_after_days is set but TimescaleDB is not enabled: no retention policy (the per-timeframe retention still runs)")
            }
            return false
        }
        let compressDays = max(1, Int(configuration.compressAfter.components.seconds / 86_400))
        let dropDays = Int(configuration.dropAfter.components.seconds / 86_400)
        do {
            try await connection.transaction { session in
                try await session.executeScript("""
                    SELECT pg_advisory_xact_lock(hashtext('fxstream.timescale-policies'));
                    ALTER TABLE candles SET (timescaledb.compress, timescaledb.compress_segmentby = 'source, symbol, timeframe');
                    SELECT remove_compression_policy('candles', if_exists => true);
                    SELECT add_compression_policy('candles', compress_after => INTERVAL '\(compressDays) days');
                    SELECT remove_retention_policy('candles', if_exists => true);
                    """)
                // The tick archive (integer time in ns): compressed like the candles when kept.
                let nanosecondsPerDay: Int64 = 86_400_000_000_000
                try await session.executeScript("""
                    SELECT remove_compression_policy('ticks', if_exists => true);
                    SELECT remove_retention_policy('ticks', if_exists => true);
                    """)
                if configuration.storeTicks {
                    try await session.executeScript("""
                        ALTER TABLE ticks SET (timescaledb.compress, timescaledb.compress_segmentby = 'source, symbol',
                                               timescaledb.compress_orderby = 'ts');
                        SELECT add_compression_policy('ticks', compress_after => \(Int64(compressDays) * nanosecondsPerDay)::bigint);
                        """)
                }
                if dropDays > 0 {
                    try await session.executeScript("""
                        SELECT add_retention_policy('candles', drop_after => INTERVAL '\(dropDays) days');
                        SELECT add_retention_policy('ticks', drop_after => \(Int64(dropDays) * nanosecondsPerDay)::bigint);
                        """)
                }
            }
            logger.info("TimescaleDB policies: compression after \(compressDays) days (candles\(configuration.storeTicks ? " and the tick archive" : "")); retention \(dropDays > 0 ? "drops chunks after \(dropDays) days" : "off")")
            return true
        } catch let error as PostgresError where error.sqlState == .insufficientPrivilege {
            // A least-privilege role (fx_aggregator) does not own the tables: the policies stay as the schema's
            // owner left them, and compression is on when a compression policy exists.
            let compressing = (try? await connection.query("""
                    SELECT count(*) AS policies FROM timescaledb_information.jobs
                    WHERE proc_name = 'policy_compression' AND hypertable_name = 'candles'
                """).rows.first?.decode(Int64.self, "policies")) ?? 0
            logger.notice("TimescaleDB policies left as they are: this role does not own the tables (\(error.message)); compression \(compressing > 0 ? "on" : "off"). To change them, start one aggregator as the schema's owner")
            return compressing > 0
        } catch {
            logger.warning("TimescaleDB policies not set up: \(error)")
            return false
        }
    }
}
