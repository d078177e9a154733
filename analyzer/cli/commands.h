/*
 * The command table's entries. One line per command, one file per command (cmd_<name>.c);
 * the usage texts live beside each command's code.
 */
#ifndef PFS_COMMANDS_H
#define PFS_COMMANDS_H

#define PFS_VERSION "0.1.0"

int cmd_info(int argc, char **argv);
extern const char cmd_info_usage[];
int cmd_import(int argc, char **argv);
extern const char cmd_import_usage[];
int cmd_record(int argc, char **argv);
extern const char cmd_record_usage[];

int cmd_collapse(int argc, char **argv);
extern const char cmd_collapse_usage[];

#define CLI_COMMANDS                                                                               \
	{"info", cmd_info, "what a capture holds: host, events, records, samples, diagnostics",     \
	 cmd_info_usage},                                                                          \
	{"import", cmd_import, "add captures to an SQLite database (one transaction each)",       \
	 cmd_import_usage},                                                                        \
	{"record", cmd_record, "run perf record with what the Python analysis needs (and probes)",  \
	 cmd_record_usage},                                                                        \
	{"collapse", cmd_collapse, "folded stacks of a perf.data capture, symbolized and unwound",  \
	 cmd_collapse_usage},

#endif
