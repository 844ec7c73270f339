//! SQLite's memory from mimalloc, like the rest of the process.
//!
//! The SQLite that sqlx builds in allocates with the C library's `malloc` unless told
//! otherwise. Each SQLite connection runs on a thread of its own, and glibc gives each
//! thread an arena that keeps what is freed in it: the page caches and statements of
//! connections long closed stayed resident. Handed mimalloc's functions, SQLite's freed
//! memory goes back to the system as the rest of the process's does.

use std::ffi::{c_int, c_void};

use libmimalloc_sys as mi;
use libsqlite3_sys as sqlite;

/// Why SQLite kept its own allocator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotInstalled(pub c_int);

/// Hands SQLite mimalloc's functions. Must run before SQLite's first use in the process
/// (the first connection opened); later, SQLite refuses (`SQLITE_MISUSE`) and keeps its own.
#[allow(unsafe_code)]
pub fn install() -> Result<(), NotInstalled> {
    let methods = sqlite::sqlite3_mem_methods {
        xMalloc: Some(malloc),
        xFree: Some(free),
        xRealloc: Some(realloc),
        xSize: Some(size),
        xRoundup: Some(roundup),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: SQLITE_CONFIG_MALLOC takes one pointer to a sqlite3_mem_methods, which SQLite
    // copies before returning. The functions it names are sound for any argument SQLite
    // passes (see each). sqlite3_config is not thread-safe against SQLite's own
    // initialisation: it runs at the start of `main`, before any thread uses SQLite.
    let rc = unsafe {
        sqlite::sqlite3_config(
            sqlite::SQLITE_CONFIG_MALLOC,
            &methods as *const sqlite::sqlite3_mem_methods,
        )
    };
    if rc == sqlite::SQLITE_OK {
        Ok(())
    } else {
        Err(NotInstalled(rc))
    }
}

/// A size SQLite asks for, as mimalloc takes it; `None` for none (SQLite never asks for
/// less than one byte, and its sizes fit an `int`).
fn bytes(n: c_int) -> Option<usize> {
    usize::try_from(n).ok().filter(|&n| n > 0)
}

/// A size mimalloc reports, as SQLite takes it (an allocation SQLite made fits an `int`).
fn int(n: usize) -> c_int {
    c_int::try_from(n).unwrap_or(c_int::MAX)
}

#[allow(unsafe_code)]
unsafe extern "C" fn malloc(n: c_int) -> *mut c_void {
    match bytes(n) {
        // SAFETY: any size may be asked of mimalloc; it returns null when out of memory,
        // which SQLite handles as SQLITE_NOMEM. Its blocks are aligned to 16 bytes (SQLite
        // needs 8).
        Some(n) => unsafe { mi::mi_malloc(n) },
        None => std::ptr::null_mut(),
    }
}

#[allow(unsafe_code)]
unsafe extern "C" fn free(p: *mut c_void) {
    // SAFETY: SQLite frees only what xMalloc/xRealloc gave it (or null, which mimalloc
    // ignores).
    unsafe { mi::mi_free(p) }
}

#[allow(unsafe_code)]
unsafe extern "C" fn realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    match bytes(n) {
        // SAFETY: `p` came from xMalloc/xRealloc (SQLite never passes null here); on failure
        // mimalloc returns null and leaves `p` as it was, as SQLite expects.
        Some(n) => unsafe { mi::mi_realloc(p, n) },
        None => std::ptr::null_mut(),
    }
}

#[allow(unsafe_code)]
unsafe extern "C" fn size(p: *mut c_void) -> c_int {
    // SAFETY: `p` came from xMalloc/xRealloc and is not freed yet.
    int(unsafe { mi::mi_usable_size(p) })
}

#[allow(unsafe_code)]
unsafe extern "C" fn roundup(n: c_int) -> c_int {
    match bytes(n) {
        // SAFETY: a pure function of its argument.
        Some(bytes) => int(unsafe { mi::mi_good_size(bytes) }),
        None => n,
    }
}

#[allow(unsafe_code)]
unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    sqlite::SQLITE_OK
}

#[allow(unsafe_code)]
unsafe extern "C" fn shutdown(_: *mut c_void) {}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use std::ffi::CString;

    use super::*;

    /// A connection and a megabyte of rows through the hook, and SQLite's allocations in
    /// mimalloc's memory. The binary's only test: nothing in this process has used SQLite
    /// before it.
    #[test]
    fn sqlite_allocates_with_mimalloc() {
        assert_eq!(install(), Ok(()));
        // SAFETY: SQLite's C API used as documented; every pointer passed is valid for the call.
        unsafe {
            let mut current = sqlite::sqlite3_mem_methods {
                xMalloc: None,
                xFree: None,
                xRealloc: None,
                xSize: None,
                xRoundup: None,
                xInit: None,
                xShutdown: None,
                pAppData: std::ptr::null_mut(),
            };
            let rc = sqlite::sqlite3_config(
                sqlite::SQLITE_CONFIG_GETMALLOC,
                &mut current as *mut sqlite::sqlite3_mem_methods,
            );
            assert_eq!(rc, sqlite::SQLITE_OK);
            let ours: unsafe extern "C" fn(c_int) -> *mut c_void = malloc;
            assert_eq!(
                current.xMalloc.map(|f| f as *const ()),
                Some(ours as *const ())
            );

            let mut db = std::ptr::null_mut();
            let name = CString::new(":memory:").expect("no NUL");
            assert_eq!(
                sqlite::sqlite3_open(name.as_ptr(), &mut db),
                sqlite::SQLITE_OK
            );
            let sql = CString::new(
                "CREATE TABLE t (v BLOB);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
                 INSERT INTO t SELECT randomblob(1000) FROM n;",
            )
            .expect("no NUL");
            let rc = sqlite::sqlite3_exec(
                db,
                sql.as_ptr(),
                None,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
            assert_eq!(rc, sqlite::SQLITE_OK);
            // What SQLite allocates is mimalloc's.
            let p = sqlite::sqlite3_malloc(1000);
            assert!(!p.is_null());
            assert!(mi::mi_is_in_heap_region(p));
            assert_eq!(
                u64::try_from(mi::mi_usable_size(p)).ok(),
                Some(sqlite::sqlite3_msize(p))
            );
            sqlite::sqlite3_free(p);
            assert_eq!(sqlite::sqlite3_close(db), sqlite::SQLITE_OK);
        }
        // Too late once SQLite is in use.
        assert_eq!(install(), Err(NotInstalled(sqlite::SQLITE_MISUSE)));
    }
}
