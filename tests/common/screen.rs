//! Looking at screenshots: colours in a part of the screen, and where a colour is drawn.

use std::path::Path;

use gtk::gdk_pixbuf::Pixbuf;

/// A rectangle on the screen, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
}

impl Area {
    pub fn right(&self) -> i32 {
        self.x + self.width
    }

    pub fn bottom(&self) -> i32 {
        self.y + self.height
    }

    /// The area with `margin` pixels more on each side.
    pub fn grown(&self, margin: i32) -> Self {
        Self {
            x: self.x - margin,
            y: self.y - margin,
            width: self.width + 2 * margin,
            height: self.height + 2 * margin,
        }
    }

    /// "X Y WIDTH HEIGHT", as `atspi.py extents` prints it.
    pub fn parse(text: &str) -> Option<Self> {
        let numbers: Vec<i32> = text
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        match numbers[..] {
            [x, y, width, height] if width > 0 && height > 0 => Some(Self {
                x,
                y,
                width,
                height,
            }),
            _ => None,
        }
    }
}

/// The pixels of a PNG screenshot, as RGB.
pub struct Screenshot {
    pub width: i32,
    pub height: i32,
    pixels: Vec<[u8; 3]>,
}

impl Screenshot {
    pub fn load(path: &Path) -> Self {
        let pixbuf = Pixbuf::from_file(path)
            .unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
        let (width, height) = (pixbuf.width(), pixbuf.height());
        let (stride, channels) = (pixbuf.rowstride() as usize, pixbuf.n_channels() as usize);
        let bytes = pixbuf.read_pixel_bytes();
        let mut pixels = Vec::with_capacity((width * height) as usize);
        for y in 0..height as usize {
            for x in 0..width as usize {
                let at = y * stride + x * channels;
                pixels.push([bytes[at], bytes[at + 1], bytes[at + 2]]);
            }
        }
        Self {
            width,
            height,
            pixels,
        }
    }

    pub fn pixel(&self, x: i32, y: i32) -> [u8; 3] {
        self.pixels[(y * self.width + x) as usize]
    }

    /// `area` cut to the screen.
    fn clip(&self, area: Area) -> (i32, i32, i32, i32) {
        (
            area.x.max(0),
            area.y.max(0),
            area.right().min(self.width),
            area.bottom().min(self.height),
        )
    }

    /// How many different colours `area` has (one when it is blank).
    pub fn colour_count(&self, area: Area) -> usize {
        let (x0, y0, x1, y1) = self.clip(area);
        let mut seen = std::collections::HashSet::new();
        for y in y0..y1 {
            for x in x0..x1 {
                seen.insert(self.pixel(x, y));
            }
        }
        seen.len()
    }

    /// The share of `area`'s pixels that have `colour` (each channel within `tolerance`).
    pub fn share_of(&self, colour: [u8; 3], tolerance: u8, area: Area) -> f64 {
        let (x0, y0, x1, y1) = self.clip(area);
        let (mut matching, mut all) = (0u64, 0u64);
        for y in y0..y1 {
            for x in x0..x1 {
                let pixel = self.pixel(x, y);
                all += 1;
                matching += u64::from(
                    pixel
                        .iter()
                        .zip(colour)
                        .all(|(have, want)| have.abs_diff(want) <= tolerance),
                );
            }
        }
        if all == 0 {
            0.0
        } else {
            matching as f64 / all as f64
        }
    }

    /// The smallest rectangle inside `area` holding every pixel of `colour` (each channel
    /// within `tolerance`), and how many of its pixels have that colour.
    pub fn bounds_of(&self, colour: [u8; 3], tolerance: u8, area: Area) -> Option<(Area, i64)> {
        let (x0, y0, x1, y1) = self.clip(area);
        let matches = |pixel: [u8; 3]| {
            pixel
                .iter()
                .zip(colour)
                .all(|(have, want)| have.abs_diff(want) <= tolerance)
        };
        let (mut left, mut top, mut right, mut bottom) = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
        for y in y0..y1 {
            for x in x0..x1 {
                if matches(self.pixel(x, y)) {
                    (left, top) = (left.min(x), top.min(y));
                    (right, bottom) = (right.max(x), bottom.max(y));
                }
            }
        }
        if left > right {
            return None;
        }
        let bounds = Area {
            x: left,
            y: top,
            width: right - left + 1,
            height: bottom - top + 1,
        };
        let mut count = 0i64;
        for y in bounds.y..bounds.bottom() {
            for x in bounds.x..bounds.right() {
                count += i64::from(matches(self.pixel(x, y)));
            }
        }
        Some((bounds, count))
    }
}
