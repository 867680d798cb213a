//! NanoClaw integration (SPEC §9): the host service's IPC task loop and the MCP stdio server
//! that runs inside a container.

pub mod ipc;
pub mod mcp;
pub mod tasks;
