//! Roster's domain: the account user, the rules every write must obey, and the
//! [`Directory`] trait through which the service, the SCIM module and the bridge all
//! reach a directory of users.
//!
//! This crate does no I/O and depends on no other Roster crate: the store, the server
//! and the client depend on it, never the other way round.

pub mod directory;
pub mod email;
pub mod filter;
pub mod role;
pub mod user;

pub use directory::{Actor, Directory, DirectoryError, UserPage, UserQuery};
pub use email::{Email, EmailError};
pub use role::{NewRole, Role, RoleChanges, RoleError, RoleName, DEFAULT_ROLE, DEFAULT_ROLES};
pub use user::{AccountUser, NewUser, UserChanges, UserName, UserNameError, NAME_MAX_CHARS};
