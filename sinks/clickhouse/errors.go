package clickhouse

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ErrInvalidBatch is wrapped by the errors of inserts whose input is wrong,
// such as a Source whose offsets do not match the rows. Retrying does not help.
var ErrInvalidBatch = errors.New("invalid batch")

// ErrSchemaMismatch is wrapped by the errors of Migrate when an existing
// table lacks columns this package writes. Retrying does not help; the
// table needs an ALTER TABLE ... ADD COLUMN or a new database.
var ErrSchemaMismatch = errors.New("table schema does not match")

// retryableCodes are server error codes that describe a passing condition
// of the server or the network, not of the statement, so the same statement
// may succeed later. The names are those of ClickHouse's ErrorCodes.cpp.
var retryableCodes = map[int32]string{
	3:    "UNEXPECTED_END_OF_FILE",
	159:  "TIMEOUT_EXCEEDED",
	201:  "QUOTA_EXCEEDED",
	202:  "TOO_MANY_SIMULTANEOUS_QUERIES",
	203:  "NO_FREE_CONNECTION",
	209:  "SOCKET_TIMEOUT",
	210:  "NETWORK_ERROR",
	225:  "NO_ZOOKEEPER",
	236:  "ABORTED",
	241:  "MEMORY_LIMIT_EXCEEDED",
	242:  "TABLE_IS_READ_ONLY",
	243:  "NOT_ENOUGH_SPACE",
	252:  "TOO_MANY_PARTS",
	285:  "TOO_FEW_LIVE_REPLICAS",
	286:  "UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE",
	319:  "UNKNOWN_STATUS_OF_INSERT",
	394:  "QUERY_WAS_CANCELLED",
	425:  "SYSTEM_ERROR",
	439:  "CANNOT_SCHEDULE_TASK",
	999:  "KEEPER_EXCEPTION",
	1000: "POCO_EXCEPTION",
}

// IsRetryable reports whether err may go away if the same call is made
// again later: network errors, timeouts, a full connection pool and server
// errors of overload or unavailability. Errors of the statement or the data,
// such as an unknown table, a type mismatch, a syntax error, failed
// authentication, ErrInvalidBatch and ErrSchemaMismatch, are permanent, and
// so is an unknown error. A canceled context is not retryable, but an
// expired deadline is.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, ErrInvalidBatch) || errors.Is(err, ErrSchemaMismatch) {
		return false
	}

	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		_, ok := retryableCodes[ex.Code]
		return ok
	}

	switch {
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, clickhouse.ErrAcquireConnTimeout),
		errors.Is(err, clickhouse.ErrConnectionClosed),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE):
		return true
	}

	var netErr net.Error
	return errors.As(err, &netErr)
}

// codeUnknownDatabase is UNKNOWN_DATABASE in ClickHouse's ErrorCodes.cpp.
const codeUnknownDatabase = 81

// IsUnknownDatabase reports whether err is the server's error for a query
// on a database that does not exist, such as before the first migrate.
func IsUnknownDatabase(err error) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && ex.Code == codeUnknownDatabase
}
