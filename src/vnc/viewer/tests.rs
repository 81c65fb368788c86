//! Tests of `viewer`.

use super::*;

#[test]
fn fit_keeps_the_aspect_ratio_and_centres() {
    let placement = Placement::new((1000.0, 1000.0), (800, 400), ScaleMode::Fit);
    assert_eq!(placement.scale, 1.25);
    assert_eq!((placement.x, placement.y), (0.0, 250.0));
    let placement = Placement::new((400.0, 300.0), (800, 600), ScaleMode::Fit);
    assert_eq!((placement.scale, placement.x, placement.y), (0.5, 0.0, 0.0));
}

#[test]
fn one_to_one_centres_only_when_there_is_room() {
    let placement = Placement::new((1001.0, 300.0), (800, 600), ScaleMode::OneToOne);
    assert_eq!(
        (placement.scale, placement.x, placement.y),
        (1.0, 101.0, 0.0)
    );
}

#[test]
fn pointer_positions_map_to_framebuffer_pixels_at_any_scale() {
    let size = (800, 400);
    let placement = Placement::new((1000.0, 1000.0), size, ScaleMode::Fit);
    assert_eq!(placement.to_framebuffer(0.0, 250.0, size), (0, 0));
    assert_eq!(placement.to_framebuffer(500.0, 500.0, size), (400, 200));
    assert_eq!(placement.to_framebuffer(999.9, 749.9, size), (799, 399));
    // Outside the picture (the black bars) clamps to the edge.
    assert_eq!(placement.to_framebuffer(-5.0, 10.0, size), (0, 0));
    assert_eq!(placement.to_framebuffer(2000.0, 900.0, size), (799, 399));
}

#[test]
fn scaled_tiles_meet_on_whole_pixels() {
    let placement = Placement::new((1000.0, 1000.0), (720, 400), ScaleMode::Fit);
    let left = placement.widget_rect(&tile_rect(720, 400, 0));
    let right = placement.widget_rect(&tile_rect(720, 400, 1));
    assert_eq!(left.0 + left.2, right.0);
    assert_eq!(left.0.fract(), 0.0);
    assert_eq!(right.2.fract(), 0.0);
}

#[test]
fn damage_picks_the_tiles_it_touches() {
    // 600×300 is 3×2 tiles; the last column and row are partial.
    assert_eq!(damaged_tiles(600, 300, &[Rect::new(0, 0, 1, 1)]), vec![0]);
    assert_eq!(
        damaged_tiles(600, 300, &[Rect::new(250, 250, 10, 10)]),
        vec![0, 1, 3, 4]
    );
    assert_eq!(
        damaged_tiles(
            600,
            300,
            &[Rect::new(590, 290, 10, 10), Rect::new(512, 0, 1, 1)]
        ),
        vec![2, 5]
    );
    assert!(damaged_tiles(600, 300, &[Rect::new(5, 5, 0, 4)]).is_empty());
    assert_eq!(tile_rect(600, 300, 5), Rect::new(512, 256, 88, 44));
}
