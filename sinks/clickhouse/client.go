package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.uber.org/zap"
)

// compressionMethods maps Config.Compression to the driver's setting. The
// value nil for "none" turns compression off.
var compressionMethods = map[string]*clickhouse.Compression{
	"lz4":  {Method: clickhouse.CompressionLZ4},
	"zstd": {Method: clickhouse.CompressionZSTD},
	"none": nil,
}

// Server error codes that Migrate treats as success, because a concurrent
// Migrate created the same object between the IF NOT EXISTS check and the
// creation.
const (
	codeTableAlreadyExists    = 57
	codeDatabaseAlreadyExists = 82
)

// codeIllegalColumn is the error code that 18.16 returns for ALTER TABLE
// ... ADD COLUMN of a column that exists already ("Cannot add column ...:
// column with this name already exists"). Other column errors use it too.
const codeIllegalColumn = 44

// Client writes to and reads from the clickstream tables over the native
// protocol. It is safe for concurrent use because the driver pools
// connections.
type Client struct {
	conn    driver.Conn
	cfg     Config
	version Version
	log     *zap.Logger

	// mu guards splitTime, which Migrate refreshes while inserts read it.
	mu sync.RWMutex
	// splitTime records, per table name, whether the table stores
	// millisecond times as a DateTime plus a <name>_ms column.
	splitTime map[string]bool
}

// Open connects to the first reachable server of cfg.Addr, reads its version
// and inspects the tables that already exist. It creates nothing, which is
// the job of Migrate. A nil log discards logs.
func Open(ctx context.Context, cfg Config, log *zap.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("clickhouse")

	// The database is left out of the connection so that Open works before
	// Migrate has created it. Every statement names it instead.
	conn, err := clickhouse.Open(&clickhouse.Options{
		Protocol:     clickhouse.Native,
		Addr:         cfg.Addr,
		Auth:         clickhouse.Auth{Username: cfg.Username, Password: cfg.Password},
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.ReadTimeout,
		MaxOpenConns: cfg.MaxOpenConns,
		MaxIdleConns: min(cfg.MaxOpenConns, 5),
		Compression:  compressionMethods[cfg.Compression],
	})
	if err != nil {
		return nil, fmt.Errorf("configuring clickhouse client for %s: %w", strings.Join(cfg.Addr, ","), err)
	}

	c, err := newClient(ctx, conn, cfg, log)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func newClient(ctx context.Context, conn driver.Conn, cfg Config, log *zap.Logger) (*Client, error) {
	if err := conn.Ping(ctx); err != nil {
		return nil, fmt.Errorf("connecting to clickhouse at %s: %w", strings.Join(cfg.Addr, ","), err)
	}
	sv, err := conn.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("reading clickhouse server version: %w", err)
	}

	c := &Client{
		conn:      conn,
		cfg:       cfg,
		version:   Version{Major: int(sv.Version.Major), Minor: int(sv.Version.Minor), Patch: int(sv.Version.Patch)},
		log:       log,
		splitTime: make(map[string]bool),
	}
	layouts, err := c.inspect(ctx)
	if err != nil {
		return nil, err
	}
	c.setLayouts(layouts)
	for name, l := range layouts {
		if len(l.missing) > 0 {
			log.Warn("table lacks columns this client writes, so inserts fail until Migrate (clickstream migrate) adds them or names those it cannot add",
				zap.String("table", c.table(name)), zap.Strings("missing", l.missing))
		}
	}

	log.Info("connected to clickhouse",
		zap.Strings("addr", cfg.Addr),
		zap.String("database", cfg.Database),
		zap.Stringer("version", c.version),
		zap.Bool("dateTime64", c.version.Supports(FeatureDateTime64)),
		zap.Bool("insertDedupToken", c.dedupTokens()))
	return c, nil
}

// ServerVersion returns the version the server reported when Open connected.
func (c *Client) ServerVersion() Version {
	return c.version
}

// Close closes every pooled connection. Calls in progress fail.
func (c *Client) Close() error {
	return c.conn.Close()
}

// Migrate creates the database and the tables that do not exist yet, with
// the column types and features of the server's version, adds to existing
// tables the columns of later releases that they lack (visitor_hash), and
// then checks that every table has the columns this package writes. It
// changes nothing else in existing tables, so it is safe to run on every
// start, twice, or from several processes at once. Retention and the
// deduplication window apply only to tables it creates.
//
// NOTE: the tables are plain ReplacingMergeTree on one server. A replicated
// or sharded cluster needs ReplicatedReplacingMergeTree tables created ON
// CLUSTER, which Migrate does not write.
func (c *Client) Migrate(ctx context.Context) error {
	db := c.cfg.Database
	if err := c.execCreate(ctx, "database "+db, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return err
	}

	for _, t := range allTables {
		sql := t.createSQL(db, c.version, c.ddlOptions(t))
		if err := c.execCreate(ctx, "table "+db+"."+t.name, sql); err != nil {
			return err
		}
	}

	layouts, err := c.inspect(ctx)
	if err != nil {
		return err
	}
	added, err := c.addMissingColumns(ctx, layouts)
	if err != nil {
		return err
	}
	if added {
		if layouts, err = c.inspect(ctx); err != nil {
			return err
		}
	}
	for _, t := range allTables {
		if l := layouts[t.name]; len(l.missing) > 0 {
			return fmt.Errorf("%w: %s.%s lacks columns %s; add them with ALTER TABLE ... ADD COLUMN or use a new database",
				ErrSchemaMismatch, db, t.name, strings.Join(l.missing, ", "))
		}
	}
	c.setLayouts(layouts)

	c.log.Info("clickhouse schema ready", zap.String("database", db), zap.Stringer("version", c.version),
		zap.Bool("splitMilliseconds", c.isSplitTime(TableInteractions)))
	return nil
}

// addMissingColumns adds to each existing table the columns marked
// addIfMissing that layouts lists as missing, and logs each one. It
// reports whether it ran any ALTER. Other missing columns are left for
// Migrate to report.
func (c *Client) addMissingColumns(ctx context.Context, layouts map[string]tableLayout) (bool, error) {
	added := false
	for _, t := range allTables {
		l := layouts[t.name]
		if !l.exists {
			continue
		}
		for i, col := range t.columns {
			if !col.addIfMissing || !slices.Contains(l.missing, col.name) {
				continue
			}
			sql := t.addColumnSQL(c.cfg.Database, i, c.version, l.splitTime)
			if err := c.execAddColumn(ctx, t, col, sql); err != nil {
				return added, err
			}
			added = true
		}
	}
	return added, nil
}

// execAddColumn runs the ALTER statement sql that adds col to t. Where the
// server has no IF NOT EXISTS, an error that the column exists counts as
// success, because another Migrate can add it at the same time. The check
// after the ALTERs catches a column that is still missing.
func (c *Client) execAddColumn(ctx context.Context, t *tableSpec, col column, sql string) error {
	table := c.table(t.name)
	err := c.conn.Exec(ctx, sql)
	var ex *clickhouse.Exception
	if errors.As(err, &ex) && ex.Code == codeIllegalColumn && !c.version.Supports(FeatureAddColumnIfNotExists) {
		c.log.Info("column added concurrently by another process", zap.String("table", table),
			zap.String("column", col.name), zap.String("serverMessage", ex.Message))
		return nil
	}
	if err != nil {
		return fmt.Errorf("adding column %s to %s: %w", col.name, table, err)
	}
	c.log.Info("added a missing column to an existing table, whose earlier rows read the default",
		zap.String("table", table), zap.String("column", col.name), zap.String("type", columnType(col, c.version)))
	return nil
}

func (c *Client) ddlOptions(t *tableSpec) ddlOptions {
	opts := ddlOptions{retentionDays: c.cfg.LogRetentionDays, dedupWindow: c.cfg.InsertDedupWindow}
	if t == &interactionsSpec {
		opts.retentionDays = c.cfg.RetentionDays
	}
	return opts
}

// execCreate runs one CREATE ... IF NOT EXISTS statement. "Already exists"
// errors count as success: servers can raise them when two processes
// create the same object at the same time.
func (c *Client) execCreate(ctx context.Context, object, sql string) error {
	err := c.conn.Exec(ctx, sql)
	var ex *clickhouse.Exception
	if errors.As(err, &ex) && (ex.Code == codeTableAlreadyExists || ex.Code == codeDatabaseAlreadyExists) {
		c.log.Debug("created concurrently by another process", zap.String("object", object))
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating %s: %w", object, err)
	}
	return nil
}

// tableLayout is the state of one table as inspect read it.
type tableLayout struct {
	exists    bool
	splitTime bool
	// missing lists the columns an insert needs that the table lacks.
	missing []string
}

// inspect reads the columns of the clickstream tables that exist. A table
// created on 18.16 keeps its split millisecond columns after the server is
// upgraded, so the layout comes from the table, not from the server version.
// Tables that do not exist yet get the layout Migrate would create.
func (c *Client) inspect(ctx context.Context) (map[string]tableLayout, error) {
	rows, err := c.conn.Query(ctx, "SELECT table, name, type FROM system.columns WHERE database = ?", c.cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("reading the columns of database %s: %w", c.cfg.Database, err)
	}
	defer rows.Close()

	types := make(map[string]map[string]string)
	for rows.Next() {
		var table, name, typ string
		if err := rows.Scan(&table, &name, &typ); err != nil {
			return nil, fmt.Errorf("reading the columns of database %s: %w", c.cfg.Database, err)
		}
		if types[table] == nil {
			types[table] = make(map[string]string)
		}
		types[table][name] = typ
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the columns of database %s: %w", c.cfg.Database, err)
	}

	layouts := make(map[string]tableLayout)
	for _, t := range allTables {
		layouts[t.name] = layoutOf(t, types[t.name], c.version)
	}
	return layouts, nil
}

// layoutOf derives the layout of t from its existing columns, or from v when
// the table does not exist.
func layoutOf(t *tableSpec, columns map[string]string, v Version) tableLayout {
	if len(columns) == 0 {
		return tableLayout{splitTime: !v.Supports(FeatureDateTime64)}
	}

	l := tableLayout{exists: true}
	for _, col := range t.columns {
		if col.kind == kindTime {
			l.splitTime = !strings.HasPrefix(columns[col.name], "DateTime64")
			break
		}
	}
	for _, name := range t.insertColumns(l.splitTime) {
		if _, ok := columns[name]; !ok {
			l.missing = append(l.missing, name)
		}
	}
	slices.Sort(l.missing)
	return l
}

func (c *Client) setLayouts(layouts map[string]tableLayout) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, l := range layouts {
		c.splitTime[name] = l.splitTime
	}
}

func (c *Client) isSplitTime(table string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.splitTime[table]
}

// dedupTokens reports whether inserts carry insert_deduplication_token.
func (c *Client) dedupTokens() bool {
	return c.cfg.InsertDedupWindow > 0 && c.version.Supports(FeatureInsertDeduplicationToken)
}

// table returns the qualified name of a table, for statements and errors.
func (c *Client) table(name string) string {
	return c.cfg.Database + "." + name
}
