// Each class starts an actionflow process and a browser; on 2 shared cores they run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
