//! Generation-checked handle tables: why a released connection or a freed
//! pool is detected instead of being undefined behaviour.
//!
//! A `litepool_pool *` or `litepool_conn *` is not an address. It is a 64-bit
//! value packing a kind tag, a slot index and the slot's generation:
//!
//! ```text
//! bits 63..52  kind tag (pool or connection)
//! bits 51..32  slot index (up to 2^20 live handles of each kind)
//! bits 31..0   generation of the slot when the handle was issued (never 0)
//! ```
//!
//! Removing a handle (release, free) bumps its slot's generation, so every
//! later use of the old value is recognised as stale, even after the slot
//! is reused for a new handle. A generation wraps only after 2^32 reuses of
//! one slot; a stale handle kept across that many reuses is no longer
//! detected. A value that was never issued (wrong tag, index out of range,
//! a generation the slot has not reached) is reported as invalid.
//!
//! One mutex guards each table, held only to look up, insert or remove; the
//! pool work happens outside it on a cloned `Arc`.

use std::sync::Arc;

use parking_lot::Mutex;

#[cfg(not(target_pointer_width = "64"))]
compile_error!("litepool's C handles pack 64 bits into a pointer: 64-bit targets only");

const INDEX_BITS: u32 = 20;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;

/// The answer to a handle lookup.
pub(crate) enum Lookup<T> {
    /// The handle is current.
    Live(Arc<T>),
    /// The handle was issued here, then removed (released or freed).
    Stale,
    /// The handle was never issued by this table.
    Invalid,
}

struct Slot<T> {
    generation: u32,
    /// Whether `generation` has wrapped past `u32::MAX` (every generation
    /// was issued once, so any other value is stale).
    wrapped: bool,
    value: Option<Arc<T>>,
}

struct Slots<T> {
    slots: Vec<Slot<T>>,
    /// Indexes of empty slots, reused last in first out.
    free: Vec<u32>,
}

/// A table of live handles of one kind.
pub(crate) struct HandleTable<T> {
    tag: u64,
    inner: Mutex<Slots<T>>,
}

impl<T> HandleTable<T> {
    /// An empty table whose handles carry `tag` (12 bits, non-zero).
    pub const fn new(tag: u64) -> Self {
        HandleTable { tag, inner: Mutex::new(Slots { slots: Vec::new(), free: Vec::new() }) }
    }

    /// Stores `value` and returns its handle, or `None` when 2^20 handles of
    /// this kind are live at once.
    pub fn insert(&self, value: Arc<T>) -> Option<u64> {
        let mut inner = self.inner.lock();
        let index = match inner.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(inner.slots.len()).ok().filter(|&i| u64::from(i) <= INDEX_MASK)?;
                inner.slots.push(Slot { generation: 1, wrapped: false, value: None });
                i
            }
        };
        let slot = &mut inner.slots[index as usize];
        slot.value = Some(value);
        Some(self.pack(index, slot.generation))
    }

    /// The value behind `handle`, if it is current.
    pub fn get(&self, handle: u64) -> Lookup<T> {
        let Some((index, generation)) = self.unpack(handle) else { return Lookup::Invalid };
        let inner = self.inner.lock();
        match inner.slots.get(index) {
            Some(slot) if slot.generation == generation => match &slot.value {
                Some(v) => Lookup::Live(Arc::clone(v)),
                None => Lookup::Invalid,
            },
            Some(slot) if slot.issued_before(generation) => Lookup::Stale,
            _ => Lookup::Invalid,
        }
    }

    /// Takes the value out and retires `handle`: later lookups of it are `Stale`.
    pub fn remove(&self, handle: u64) -> Lookup<T> {
        let Some((index, generation)) = self.unpack(handle) else { return Lookup::Invalid };
        let mut inner = self.inner.lock();
        let Some(slot) = inner.slots.get_mut(index) else { return Lookup::Invalid };
        if slot.generation != generation {
            return if slot.issued_before(generation) { Lookup::Stale } else { Lookup::Invalid };
        }
        let Some(value) = slot.value.take() else { return Lookup::Invalid };
        slot.generation = match slot.generation.wrapping_add(1) {
            0 => {
                slot.wrapped = true;
                1
            }
            g => g,
        };
        // `index` came from a slot that exists, so it fits in u32.
        inner.free.push(index as u32);
        Lookup::Live(value)
    }

    fn pack(&self, index: u32, generation: u32) -> u64 {
        (self.tag << 52) | (u64::from(index) << 32) | u64::from(generation)
    }

    fn unpack(&self, handle: u64) -> Option<(usize, u32)> {
        if handle >> 52 != self.tag {
            return None;
        }
        let generation = handle as u32;
        let index = ((handle >> 32) & INDEX_MASK) as usize;
        (generation != 0).then_some((index, generation))
    }
}

impl<T> Slot<T> {
    /// Whether generation `issued` (never 0) was handed out by this slot
    /// before its current one: below it, or any other value once the
    /// counter wrapped. A value the slot has not reached yet is not stale
    /// but forged (`0xFFFF_FFFF` on a young slot must not read as "freed").
    fn issued_before(&self, issued: u32) -> bool {
        issued != self.generation && (self.wrapped || issued < self.generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(l: Lookup<u32>) -> Option<u32> {
        match l {
            Lookup::Live(v) => Some(*v),
            _ => None,
        }
    }

    #[test]
    fn a_removed_handle_is_stale_even_after_its_slot_is_reused() {
        let table = HandleTable::new(0x1a5);
        let a = table.insert(Arc::new(1)).unwrap();
        assert_eq!(live(table.get(a)), Some(1));
        assert_eq!(live(table.remove(a)), Some(1));
        assert!(matches!(table.get(a), Lookup::Stale));
        assert!(matches!(table.remove(a), Lookup::Stale));
        let b = table.insert(Arc::new(2)).unwrap();
        assert_ne!(a, b, "same slot, new generation");
        assert!(matches!(table.get(a), Lookup::Stale));
        assert_eq!(live(table.get(b)), Some(2));
    }

    #[test]
    fn values_never_issued_are_invalid() {
        let table: HandleTable<u32> = HandleTable::new(0x1a5);
        let other: HandleTable<u32> = HandleTable::new(0x1c0);
        let h = other.insert(Arc::new(3)).unwrap();
        assert!(matches!(table.get(h), Lookup::Invalid), "wrong kind");
        assert!(matches!(table.get(0), Lookup::Invalid));
        assert!(matches!(table.get(0xdead_beef), Lookup::Invalid));
        let mine = table.insert(Arc::new(4)).unwrap();
        assert!(matches!(table.get(mine + 1), Lookup::Invalid), "a generation not reached yet");
        assert!(matches!(table.get(mine + (5 << 32)), Lookup::Invalid), "a slot never used");
    }

    #[test]
    fn a_forged_generation_near_u32_max_is_invalid_not_freed() {
        let table = HandleTable::new(0x1a5);
        let h = table.insert(Arc::new(1)).unwrap();
        let forged = (h & !0xFFFF_FFFF) | 0xFFFF_FFFF;
        assert!(matches!(table.get(forged), Lookup::Invalid));
        assert!(matches!(table.remove(forged), Lookup::Invalid));
        assert!(matches!(table.get(h), Lookup::Live(_)), "the real handle is untouched");
    }
}
