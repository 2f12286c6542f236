package maintainer

import (
	"context"
	"strings"

	"krt.dev/krt/runtimed/store"
)

// logs deletes logs/<ns>/<run>/<uid> with its LogRecord (<uid>.json) past
// the logs' retention, or when the LogRecord names a WorkflowRun that is
// gone. A log without a LogRecord is kept for its retention.
func (sw *sweeper) logs(ctx context.Context) error {
	objs, err := sw.list(ctx, "logs/")
	if err != nil {
		return err
	}
	byKey := map[string]store.Object{}
	for _, o := range objs {
		byKey[o.Key] = o
	}
	for _, o := range objs {
		if strings.HasSuffix(o.Key, ".json") {
			continue // judged with its log, below; or orphaned, by age
		}
		meta, hasMeta := byKey[o.Key+".json"]
		drop := sw.expired(o, sw.o.Retention.Logs)
		if !drop && hasMeta {
			if drop, err = sw.logGone(ctx, meta); err != nil {
				return err
			}
		}
		if drop {
			if err := sw.del(ctx, o.Key, &sw.res.Logs); err != nil {
				return err
			}
			if hasMeta {
				if err := sw.s.Delete(ctx, meta.Key); err != nil {
					return err
				}
			}
		}
	}
	return sw.orphanedLogMeta(ctx, objs, byKey)
}

// logGone reads a LogRecord and asks whether its WorkflowRun exists.
func (sw *sweeper) logGone(ctx context.Context, meta store.Object) (bool, error) {
	var rec store.LogRecord
	if err := sw.s.GetRecord(ctx, meta.Key, &rec); err != nil {
		if notFound(err) {
			return false, nil
		}
		if isMalformed(err) {
			sw.res.Malformed = append(sw.res.Malformed, meta.Key)
			return false, nil
		}
		return false, err
	}
	return sw.gone(ctx, meta, rec.Namespace, rec.WorkflowRun)
}

// orphanedLogMeta deletes LogRecords whose log is gone (an upload that
// failed after its record was written) once past the logs' retention.
func (sw *sweeper) orphanedLogMeta(ctx context.Context, objs []store.Object, byKey map[string]store.Object) error {
	for _, o := range objs {
		base, ok := strings.CutSuffix(o.Key, ".json")
		if _, hasLog := byKey[base]; !ok || hasLog || !sw.expired(o, sw.o.Retention.Logs) {
			continue
		}
		if err := sw.s.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	return nil
}
