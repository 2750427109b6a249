// The tests start worker processes, restart the broker and kill processes: they share one machine of 2 cores, so
// they run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
