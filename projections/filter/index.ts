// The filter language (DESIGN.md §5). Filled in by the filter module.
export {};
