//! Where the remote screen lands in the widget, and its tiles: copied from the framebuffer
//! where damaged, kept as textures (GPU renderers) or cairo surfaces (the cairo renderer).

use super::*;

/// Where the framebuffer lands in the widget: widget = offset + framebuffer × scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub scale: f64,
    pub x: f64,
    pub y: f64,
}

impl Placement {
    /// The placement of a `framebuffer`-sized screen in a `widget`-sized area.
    pub fn new(widget: (f64, f64), framebuffer: (u32, u32), mode: ScaleMode) -> Self {
        let (frame_width, frame_height) = (f64::from(framebuffer.0), f64::from(framebuffer.1));
        if frame_width <= 0.0 || frame_height <= 0.0 {
            return Placement {
                scale: 1.0,
                x: 0.0,
                y: 0.0,
            };
        }
        let scale = match mode {
            ScaleMode::Fit => (widget.0 / frame_width).min(widget.1 / frame_height),
            ScaleMode::OneToOne => 1.0,
        };
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        // Whole-pixel offsets keep 1:1 crisp.
        let centre = |space: f64, content: f64| ((space - content * scale) / 2.0).max(0.0).round();
        Placement {
            scale,
            x: centre(widget.0, frame_width),
            y: centre(widget.1, frame_height),
        }
    }

    /// The framebuffer pixel under widget point (x, y), clamped to the screen.
    pub fn to_framebuffer(&self, x: f64, y: f64, framebuffer: (u32, u32)) -> (u16, u16) {
        let clamp = |value: f64, size: u32| {
            let last = f64::from(size.saturating_sub(1).min(u32::from(u16::MAX)));
            value.floor().clamp(0.0, last) as u16
        };
        (
            clamp((x - self.x) / self.scale, framebuffer.0),
            clamp((y - self.y) / self.scale, framebuffer.1),
        )
    }

    /// Where `rect` is drawn, with edges on whole pixels so neighbouring tiles meet exactly.
    pub fn widget_rect(&self, rect: &Rect) -> (f32, f32, f32, f32) {
        let edge = |offset: f64, position: u32| (offset + f64::from(position) * self.scale).round();
        let (left, top) = (edge(self.x, rect.x), edge(self.y, rect.y));
        let (right, bottom) = (edge(self.x, rect.right()), edge(self.y, rect.bottom()));
        (
            left as f32,
            top as f32,
            (right - left) as f32,
            (bottom - top) as f32,
        )
    }
}

/// The tiles touched by `damage` in a framebuffer of this size, each once, in order.
pub fn damaged_tiles(width: u32, height: u32, damage: &[Rect]) -> Vec<usize> {
    let columns = width.div_ceil(TILE_SIZE);
    let rows = height.div_ceil(TILE_SIZE);
    let mut touched = vec![false; (columns * rows) as usize];
    for rect in damage.iter().filter(|rect| !rect.is_empty()) {
        let first_column = rect.x / TILE_SIZE;
        let last_column = ((rect.right() - 1) / TILE_SIZE).min(columns.saturating_sub(1));
        let first_row = rect.y / TILE_SIZE;
        let last_row = ((rect.bottom() - 1) / TILE_SIZE).min(rows.saturating_sub(1));
        for row in first_row..=last_row {
            for column in first_column..=last_column {
                if let Some(flag) = touched.get_mut((row * columns + column) as usize) {
                    *flag = true;
                }
            }
        }
    }
    (0..touched.len()).filter(|index| touched[*index]).collect()
}

/// The framebuffer rectangle a tile covers.
pub(super) fn tile_rect(width: u32, height: u32, index: usize) -> Rect {
    let columns = width.div_ceil(TILE_SIZE).max(1);
    let (column, row) = (index as u32 % columns, index as u32 / columns);
    let (x, y) = (column * TILE_SIZE, row * TILE_SIZE);
    Rect::new(x, y, TILE_SIZE.min(width - x), TILE_SIZE.min(height - y))
}

/// Pixels copied out of the framebuffer for one tile, to become an image after the lock.
pub(super) struct TilePixels {
    pub(super) index: usize,
    pub(super) rect: Rect,
    pub(super) bytes: Vec<u8>,
}

/// What the tiles are made of, after the renderer (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum TileKind {
    #[default]
    Texture,
    CairoSurface,
}

/// One tile, ready to draw; never changed once made, so a renderer may keep it.
#[derive(Clone)]
pub(super) enum TileImage {
    Texture(gdk::Texture),
    CairoSurface(cairo::ImageSurface),
}

/// The screen as images, one per tile.
#[derive(Default)]
pub(super) struct Tiles {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) kind: TileKind,
    pub(super) images: Vec<Option<TileImage>>,
}

impl Tiles {
    /// Takes the framebuffer's damage and copies the tiles it touches (all after a resize or
    /// a change of renderer).
    pub(super) fn copy_damaged(
        &mut self,
        framebuffer: &mut Framebuffer,
        kind: TileKind,
    ) -> Vec<TilePixels> {
        let damage = framebuffer.take_damage();
        let (width, height) = (framebuffer.width(), framebuffer.height());
        let indices = if (width, height, kind) != (self.width, self.height, self.kind) {
            self.width = width;
            self.height = height;
            self.kind = kind;
            let count = (width.div_ceil(TILE_SIZE) * height.div_ceil(TILE_SIZE)) as usize;
            self.images = vec![None; count];
            (0..count).collect()
        } else {
            damaged_tiles(width, height, &damage)
        };
        indices
            .into_iter()
            .filter_map(|index| {
                let rect = tile_rect(width, height, index);
                let bytes = framebuffer.read_rect(rect).ok()?;
                Some(TilePixels { index, rect, bytes })
            })
            .collect()
    }

    pub(super) fn upload(&mut self, tiles: Vec<TilePixels>) {
        for tile in tiles {
            let (width, height) = (tile.rect.width, tile.rect.height);
            let image = match self.kind {
                TileKind::Texture => {
                    Some(TileImage::Texture(bgra_texture(width, height, tile.bytes)))
                }
                TileKind::CairoSurface => {
                    bgrx_surface(width, height, tile.bytes).map(TileImage::CairoSurface)
                }
            };
            if let Some(slot) = self.images.get_mut(tile.index) {
                *slot = image;
            }
        }
    }
}

/// BGRX pixels as a cairo surface (RGB24 is a native-endian 0x00RRGGBB word: BGRX in memory
/// on little-endian machines); `None` if cairo refuses it.
pub(super) fn bgrx_surface(width: u32, height: u32, bytes: Vec<u8>) -> Option<cairo::ImageSurface> {
    let stride = width as i32 * BYTES_PER_PIXEL as i32;
    cairo::ImageSurface::create_for_data(
        bytes,
        cairo::Format::Rgb24,
        width as i32,
        height as i32,
        stride,
    )
    .ok()
}

/// Draws cairo surface tiles, each in its place and with a bilinear filter when scaled.
pub(super) fn draw_surfaces(context: &cairo::Context, tiles: &Tiles, placement: &Placement) {
    let filter = if placement.scale == 1.0 {
        cairo::Filter::Fast
    } else {
        cairo::Filter::Bilinear
    };
    for (index, image) in tiles.images.iter().enumerate() {
        let Some(TileImage::CairoSurface(surface)) = image else {
            continue;
        };
        let rect = tile_rect(tiles.width, tiles.height, index);
        let (x, y, width, height) = placement.widget_rect(&rect);
        let (x, y, width, height) = (
            f64::from(x),
            f64::from(y),
            f64::from(width),
            f64::from(height),
        );
        context.save().ok();
        context.rectangle(x, y, width, height);
        context.clip();
        context.translate(x, y);
        context.scale(
            width / f64::from(rect.width),
            height / f64::from(rect.height),
        );
        if context.set_source_surface(surface, 0.0, 0.0).is_ok() {
            let source = context.source();
            source.set_filter(filter);
            // Edge pixels repeat outwards, so scaled tiles blend into their neighbours'
            // colours rather than into transparent seams.
            source.set_extend(cairo::Extend::Pad);
            context.paint().ok();
        }
        context.restore().ok();
    }
}

/// An opaque BGRA image as a texture (alpha is always 0xFF, so "premultiplied" is exact and
/// is the format renderers take without converting).
pub(super) fn bgra_texture(width: u32, height: u32, bytes: Vec<u8>) -> gdk::Texture {
    let stride = width as usize * BYTES_PER_PIXEL;
    gdk::MemoryTexture::new(
        width as i32,
        height as i32,
        gdk::MemoryFormat::B8g8r8a8Premultiplied,
        &glib::Bytes::from_owned(bytes),
        stride,
    )
    .upcast()
}
