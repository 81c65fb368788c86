//! The remote screen in memory: BGRX pixels, and the regions changed since the viewer last
//! looked. GTK-free, so the session thread writes it and tests check it without a display.
//!
//! The 4th byte of each pixel is the server's padding, kept as it came: fixing it on every
//! update would be a pass over every pixel for every frame, while only copies made for
//! drawing or saving need it opaque (`read_rect`), and those are made at most once per frame
//! shown.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Bytes per pixel: blue, green, red, then padding (alpha in the copies `read_rect` makes).
pub const BYTES_PER_PIXEL: usize = 4;

/// Beyond this many separate damaged rectangles, keeping them apart costs more than it saves.
const MAX_DAMAGE_RECTS: usize = 64;

/// The framebuffer shared by the session thread (writer) and the viewer (reader).
pub type SharedFramebuffer = Arc<Mutex<Framebuffer>>;

/// Locks the shared framebuffer. A panic while it was held leaves plain pixels behind, still
/// fine to draw, so a poisoned lock is used as it is.
pub fn lock(shared: &SharedFramebuffer) -> MutexGuard<'_, Framebuffer> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A rectangle in framebuffer pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    pub fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Self {
            x,
            y,
            width,
            height,
        }
    }

    pub fn right(&self) -> u32 {
        self.x + self.width
    }

    pub fn bottom(&self) -> u32 {
        self.y + self.height
    }

    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    pub fn contains(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.right() <= self.right()
            && other.bottom() <= self.bottom()
    }

    pub fn intersects(&self, other: &Rect) -> bool {
        self.x < other.right()
            && other.x < self.right()
            && self.y < other.bottom()
            && other.y < self.bottom()
    }

    /// The smallest rectangle holding both.
    pub fn union(&self, other: &Rect) -> Rect {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        Rect::new(
            x,
            y,
            self.right().max(other.right()) - x,
            self.bottom().max(other.bottom()) - y,
        )
    }
}

impl From<vnc::Rect> for Rect {
    fn from(rect: vnc::Rect) -> Self {
        Rect::new(
            rect.x.into(),
            rect.y.into(),
            rect.width.into(),
            rect.height.into(),
        )
    }
}

/// Why an update from the server could not be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateError {
    /// The rectangle reaches outside the framebuffer.
    OutOfBounds,
    /// The pixel data is not width × height × 4 bytes long.
    WrongLength,
    /// A copy's source and destination differ in size.
    SizeMismatch,
}

/// BGRX pixels of the remote screen, rows `stride` bytes apart, with damage tracking.
#[derive(Debug, Clone)]
pub struct Framebuffer {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
    damage: Vec<Rect>,
    /// Whether the viewer has been told about the current damage (see `announce_damage`).
    announced: bool,
}

impl Framebuffer {
    /// An opaque black framebuffer, all of it damaged.
    pub fn new(width: u32, height: u32) -> Self {
        let mut framebuffer = Self {
            width: 0,
            height: 0,
            pixels: Vec::new(),
            damage: Vec::new(),
            announced: false,
        };
        framebuffer.resize(width, height);
        framebuffer
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes from one row to the next.
    pub fn stride(&self) -> usize {
        self.width as usize * BYTES_PER_PIXEL
    }

    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    pub fn bounds(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    /// Changes the size; the content becomes opaque black and all of it is damaged.
    pub fn resize(&mut self, width: u32, height: u32) {
        self.width = width;
        self.height = height;
        self.pixels = opaque_black(width as usize * height as usize);
        self.damage.clear();
        self.add_damage(self.bounds());
    }

    /// Writes server pixels (BGRX, rows packed tightly) into `rect`.
    pub fn apply_raw(&mut self, rect: Rect, bytes: &[u8]) -> Result<(), UpdateError> {
        self.check_inside(&rect)?;
        let row_bytes = rect.width as usize * BYTES_PER_PIXEL;
        if bytes.len() != row_bytes * rect.height as usize {
            return Err(UpdateError::WrongLength);
        }
        if rect.is_empty() {
            // Nothing to write (and rows of no bytes cannot be counted out).
            return Ok(());
        }
        for (row, source) in bytes.chunks_exact(row_bytes).enumerate() {
            let start = self.offset(rect.x, rect.y + row as u32);
            self.pixels[start..start + row_bytes].copy_from_slice(source);
        }
        self.add_damage(rect);
        Ok(())
    }

    /// Like `apply_raw`, taking the buffer: an update of the whole screen becomes the
    /// framebuffer as it is, without a copy.
    pub fn apply_raw_owned(&mut self, rect: Rect, bytes: Vec<u8>) -> Result<(), UpdateError> {
        if rect != self.bounds() || bytes.len() != self.pixels.len() {
            return self.apply_raw(rect, &bytes);
        }
        self.pixels = bytes;
        self.add_damage(rect);
        Ok(())
    }

    /// Copies the pixels of `source` to `destination` (same size; they may overlap).
    pub fn copy_rect(&mut self, source: Rect, destination: Rect) -> Result<(), UpdateError> {
        if (source.width, source.height) != (destination.width, destination.height) {
            return Err(UpdateError::SizeMismatch);
        }
        self.check_inside(&source)?;
        self.check_inside(&destination)?;
        let row_bytes = source.width as usize * BYTES_PER_PIXEL;
        // Copying downwards walks the rows bottom-up so overlapping rows are read before
        // they are overwritten; `copy_within` handles overlap inside a row.
        let rows: Box<dyn Iterator<Item = u32>> = if destination.y > source.y {
            Box::new((0..source.height).rev())
        } else {
            Box::new(0..source.height)
        };
        for row in rows {
            let from = self.offset(source.x, source.y + row);
            let to = self.offset(destination.x, destination.y + row);
            self.pixels.copy_within(from..from + row_bytes, to);
        }
        self.add_damage(destination);
        Ok(())
    }

    /// Marks `rect` (clipped to the framebuffer) as changed.
    pub fn add_damage(&mut self, rect: Rect) {
        let Some(rect) = clip(&rect, &self.bounds()) else {
            return;
        };
        if self.damage.iter().any(|known| known.contains(&rect)) {
            return;
        }
        self.damage.retain(|known| !rect.contains(known));
        self.damage.push(rect);
        if self.damage.len() > MAX_DAMAGE_RECTS {
            let bounding = self.damage.iter().fold(rect, |all, next| all.union(next));
            self.damage = vec![bounding];
        }
    }

    /// The rectangles changed since the last call (they may overlap); clears them.
    pub fn take_damage(&mut self) -> Vec<Rect> {
        self.announced = false;
        std::mem::take(&mut self.damage)
    }

    pub fn has_damage(&self) -> bool {
        !self.damage.is_empty()
    }

    /// True once per batch of damage: the session tells the viewer only when the viewer has
    /// taken everything it was told about before, so a busy screen sends few messages.
    pub fn announce_damage(&mut self) -> bool {
        if self.damage.is_empty() || self.announced {
            return false;
        }
        self.announced = true;
        true
    }

    /// A copy of `rect`'s pixels as opaque BGRA, rows packed tightly (`rect.width * 4` bytes
    /// apart).
    pub fn read_rect(&self, rect: Rect) -> Result<Vec<u8>, UpdateError> {
        self.check_inside(&rect)?;
        let row_bytes = rect.width as usize * BYTES_PER_PIXEL;
        let mut copy = Vec::with_capacity(row_bytes * rect.height as usize);
        for row in rect.y..rect.bottom() {
            let start = self.offset(rect.x, row);
            copy.extend_from_slice(&self.pixels[start..start + row_bytes]);
        }
        // Copying then fixing the copy, still in the cache, is twice as fast as doing both
        // pixel by pixel.
        make_opaque(&mut copy);
        Ok(copy)
    }

    /// The opaque BGRA value of one pixel, for tests and checks.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let start = self.offset(x, y);
        let [blue, green, red, _padding] = self.pixels[start..start + BYTES_PER_PIXEL]
            .try_into()
            .ok()?;
        Some([blue, green, red, 0xFF])
    }

    /// How many different colours the screen shows, counting up to `limit`.
    pub fn count_colours(&self, limit: usize) -> usize {
        let mut seen = std::collections::HashSet::new();
        for pixel in self.pixels.chunks_exact(BYTES_PER_PIXEL) {
            seen.insert([pixel[0], pixel[1], pixel[2]]);
            if seen.len() >= limit {
                break;
            }
        }
        seen.len()
    }

    fn offset(&self, x: u32, y: u32) -> usize {
        y as usize * self.stride() + x as usize * BYTES_PER_PIXEL
    }

    fn check_inside(&self, rect: &Rect) -> Result<(), UpdateError> {
        let fits = u64::from(rect.x) + u64::from(rect.width) <= u64::from(self.width)
            && u64::from(rect.y) + u64::from(rect.height) <= u64::from(self.height);
        if fits {
            Ok(())
        } else {
            Err(UpdateError::OutOfBounds)
        }
    }
}

fn opaque_black(pixel_count: usize) -> Vec<u8> {
    [0, 0, 0, 0xFF].repeat(pixel_count)
}

/// Sets every pixel's padding byte to opaque.
fn make_opaque(pixels: &mut [u8]) {
    for pixel in pixels.chunks_exact_mut(BYTES_PER_PIXEL) {
        pixel[3] = 0xFF;
    }
}

fn clip(rect: &Rect, bounds: &Rect) -> Option<Rect> {
    let x = rect.x.max(bounds.x);
    let y = rect.y.max(bounds.y);
    let right = rect.x.saturating_add(rect.width).min(bounds.right());
    let bottom = rect.y.saturating_add(rect.height).min(bounds.bottom());
    (right > x && bottom > y).then(|| Rect::new(x, y, right - x, bottom - y))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(width: u32, height: u32, bgrx: [u8; 4]) -> Vec<u8> {
        bgrx.repeat((width * height) as usize)
    }

    #[test]
    fn new_framebuffer_is_opaque_black_and_fully_damaged() {
        let mut framebuffer = Framebuffer::new(4, 3);
        assert_eq!(framebuffer.stride(), 16);
        assert_eq!(framebuffer.pixel(3, 2), Some([0, 0, 0, 0xFF]));
        assert_eq!(framebuffer.take_damage(), vec![Rect::new(0, 0, 4, 3)]);
        assert!(framebuffer.take_damage().is_empty());
    }

    #[test]
    fn apply_raw_keeps_the_padding_copies_are_opaque_and_damage_is_recorded() {
        let mut framebuffer = Framebuffer::new(8, 8);
        framebuffer.take_damage();
        let rect = Rect::new(2, 3, 2, 2);
        framebuffer
            .apply_raw(rect, &solid(2, 2, [10, 20, 30, 0]))
            .expect("fits");
        assert_eq!(framebuffer.pixel(2, 3), Some([10, 20, 30, 0xFF]));
        assert_eq!(framebuffer.pixel(3, 4), Some([10, 20, 30, 0xFF]));
        assert_eq!(framebuffer.pixel(4, 4), Some([0, 0, 0, 0xFF]));
        assert_eq!(framebuffer.take_damage(), vec![rect]);
        let stride = framebuffer.stride();
        assert_eq!(
            framebuffer.pixels()[3 * stride + 2 * 4 + 3],
            0,
            "padding kept"
        );
        let copy = framebuffer.read_rect(rect).expect("fits");
        assert!(copy
            .chunks_exact(4)
            .all(|pixel| pixel == [10, 20, 30, 0xFF]));
    }

    #[test]
    fn whole_screen_updates_replace_the_pixels() {
        let mut framebuffer = Framebuffer::new(2, 2);
        framebuffer.take_damage();
        let bytes = solid(2, 2, [1, 2, 3, 0]);
        framebuffer
            .apply_raw_owned(Rect::new(0, 0, 2, 2), bytes.clone())
            .expect("fits");
        assert_eq!(framebuffer.pixels(), &bytes[..]);
        assert_eq!(framebuffer.take_damage(), vec![Rect::new(0, 0, 2, 2)]);
        // A part of the screen is copied in.
        framebuffer
            .apply_raw_owned(Rect::new(1, 0, 1, 1), vec![9, 9, 9, 0])
            .expect("fits");
        assert_eq!(framebuffer.pixel(1, 0), Some([9, 9, 9, 0xFF]));
        assert_eq!(framebuffer.pixel(0, 0), Some([1, 2, 3, 0xFF]));
    }

    #[test]
    fn apply_raw_rejects_bad_rectangles() {
        let mut framebuffer = Framebuffer::new(8, 8);
        assert_eq!(
            framebuffer.apply_raw(Rect::new(7, 0, 2, 1), &solid(2, 1, [0; 4])),
            Err(UpdateError::OutOfBounds)
        );
        assert_eq!(
            framebuffer.apply_raw(Rect::new(0, 0, 2, 1), &[0; 7]),
            Err(UpdateError::WrongLength)
        );
        assert_eq!(framebuffer.apply_raw(Rect::new(3, 3, 0, 5), &[]), Ok(()));
        let huge = Rect::new(u32::MAX, 0, 2, 1);
        assert_eq!(
            framebuffer.apply_raw(huge, &solid(2, 1, [0; 4])),
            Err(UpdateError::OutOfBounds)
        );
    }

    /// Each pixel of a 4×4 framebuffer gets its own blue value: 10 * y + x.
    fn numbered() -> Framebuffer {
        let mut framebuffer = Framebuffer::new(4, 4);
        let bytes: Vec<u8> = (0..16u8)
            .flat_map(|index| [10 * (index / 4) + index % 4, 0, 0, 0])
            .collect();
        framebuffer
            .apply_raw(Rect::new(0, 0, 4, 4), &bytes)
            .expect("fits");
        framebuffer.take_damage();
        framebuffer
    }

    fn blue(framebuffer: &Framebuffer, x: u32, y: u32) -> u8 {
        framebuffer.pixel(x, y).expect("inside")[0]
    }

    #[test]
    fn copy_rect_moves_pixels_down_with_overlap() {
        let mut framebuffer = numbered();
        framebuffer
            .copy_rect(Rect::new(0, 0, 2, 3), Rect::new(1, 1, 2, 3))
            .expect("fits");
        assert_eq!(blue(&framebuffer, 1, 1), 0);
        assert_eq!(blue(&framebuffer, 2, 1), 1);
        assert_eq!(blue(&framebuffer, 1, 2), 10);
        assert_eq!(blue(&framebuffer, 2, 3), 21);
        assert_eq!(blue(&framebuffer, 0, 0), 0);
        assert_eq!(framebuffer.take_damage(), vec![Rect::new(1, 1, 2, 3)]);
    }

    #[test]
    fn copy_rect_moves_pixels_up_with_overlap() {
        let mut framebuffer = numbered();
        framebuffer
            .copy_rect(Rect::new(1, 1, 3, 3), Rect::new(0, 0, 3, 3))
            .expect("fits");
        assert_eq!(blue(&framebuffer, 0, 0), 11);
        assert_eq!(blue(&framebuffer, 2, 0), 13);
        assert_eq!(blue(&framebuffer, 0, 2), 31);
        assert_eq!(blue(&framebuffer, 2, 2), 33);
    }

    #[test]
    fn copy_rect_rejects_mismatched_or_outside_rectangles() {
        let mut framebuffer = numbered();
        assert_eq!(
            framebuffer.copy_rect(Rect::new(0, 0, 2, 2), Rect::new(0, 0, 1, 2)),
            Err(UpdateError::SizeMismatch)
        );
        assert_eq!(
            framebuffer.copy_rect(Rect::new(0, 0, 2, 2), Rect::new(3, 3, 2, 2)),
            Err(UpdateError::OutOfBounds)
        );
    }

    #[test]
    fn damage_drops_contained_rectangles_and_clips() {
        let mut framebuffer = Framebuffer::new(100, 100);
        framebuffer.take_damage();
        framebuffer.add_damage(Rect::new(10, 10, 5, 5));
        framebuffer.add_damage(Rect::new(11, 11, 2, 2));
        framebuffer.add_damage(Rect::new(50, 50, 10, 10));
        framebuffer.add_damage(Rect::new(0, 0, 20, 20));
        framebuffer.add_damage(Rect::new(95, 95, 50, 50));
        assert_eq!(
            framebuffer.take_damage(),
            vec![
                Rect::new(50, 50, 10, 10),
                Rect::new(0, 0, 20, 20),
                Rect::new(95, 95, 5, 5)
            ]
        );
    }

    #[test]
    fn many_damaged_rectangles_collapse_into_their_bounds() {
        let mut framebuffer = Framebuffer::new(1000, 10);
        framebuffer.take_damage();
        for index in 0..=MAX_DAMAGE_RECTS as u32 {
            framebuffer.add_damage(Rect::new(index * 10 + 5, 2, 1, 1));
        }
        let last = MAX_DAMAGE_RECTS as u32 * 10 + 5;
        assert_eq!(
            framebuffer.take_damage(),
            vec![Rect::new(5, 2, last - 4, 1)]
        );
    }

    #[test]
    fn damage_is_announced_once_until_taken() {
        let mut framebuffer = Framebuffer::new(10, 10);
        assert!(framebuffer.announce_damage());
        framebuffer.add_damage(Rect::new(1, 1, 1, 1));
        assert!(!framebuffer.announce_damage());
        framebuffer.take_damage();
        assert!(!framebuffer.announce_damage());
        framebuffer.add_damage(Rect::new(1, 1, 1, 1));
        assert!(framebuffer.announce_damage());
    }

    #[test]
    fn resize_clears_to_black_and_damages_everything() {
        let mut framebuffer = numbered();
        framebuffer.resize(6, 2);
        assert_eq!(framebuffer.pixels().len(), 6 * 2 * 4);
        assert_eq!(framebuffer.pixel(5, 1), Some([0, 0, 0, 0xFF]));
        assert_eq!(framebuffer.take_damage(), vec![Rect::new(0, 0, 6, 2)]);
    }

    #[test]
    fn read_rect_packs_rows_and_colours_are_counted() {
        let framebuffer = numbered();
        let copy = framebuffer.read_rect(Rect::new(1, 2, 2, 2)).expect("fits");
        let blues: Vec<u8> = copy.chunks_exact(4).map(|pixel| pixel[0]).collect();
        assert_eq!(blues, vec![21, 22, 31, 32]);
        assert_eq!(framebuffer.count_colours(100), 16);
        assert_eq!(framebuffer.count_colours(5), 5);
        assert_eq!(Framebuffer::new(3, 3).count_colours(100), 1);
    }
}
