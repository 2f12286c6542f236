package validate

import (
	"fmt"

	"github.com/robfig/cron/v3"
)

// cronParser accepts the five standard fields and the @hourly-style
// descriptors, as Kubernetes CronJobs do.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a schedule the way the trigger controller will.
func ParseCron(spec string) (cron.Schedule, error) {
	s, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("bad cron expression %q: %v", spec, err)
	}
	return s, nil
}
